// `npm run nginx:render`: regenerates nginx/docker.conf from the template (a test checks they agree).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { NGINX_DIR, renderDockerConf } from '@cohort/testkit';

writeFileSync(join(NGINX_DIR, 'docker.conf'), renderDockerConf());
process.stdout.write('wrote nginx/docker.conf\n');
