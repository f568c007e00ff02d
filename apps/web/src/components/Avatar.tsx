import type { CSSProperties } from 'react';
import { hueOf, initials } from '../lib/format';

interface Props {
  id: string;
  name: string;
  online?: boolean | undefined;
  group?: boolean;
  size?: 'sm' | 'md' | 'lg';
}

export function Avatar({ id, name, online, group = false, size = 'md' }: Props) {
  const style = { '--hue': hueOf(id) } as CSSProperties;
  return (
    <span className={`avatar ${size}${group ? ' group' : ''}`} style={style} aria-hidden="true">
      {initials(name)}
      {online && <span className="presence-dot" data-testid="online-dot" />}
    </span>
  );
}
