// Integration tests start real servers (embedded Mongo, redis-server, worker threads, a child process).
jest.setTimeout(30_000);
