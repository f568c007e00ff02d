/** The adapter's room events (Socket.IO's in-memory adapter and the Redis adapters built on it emit them). */
interface RoomEvents {
  on(event: 'create-room' | 'delete-room', listener: (room: string) => void): unknown;
}

/**
 * One string per chat and user room name, shared by every socket in the room. Each socket keeps the names of its
 * rooms; a name built per socket (`chat:${id}`, about 80 bytes once hashed) would cost every idle socket that much
 * per room. The table mirrors the adapter's rooms, so a name is dropped when its room empties.
 */
export function createRoomNames(adapter: RoomEvents): (room: string) => string {
  const names = new Map<string, string>();
  // Every socket's own room (its id) is created too: only the shared rooms are worth a table entry.
  const shared = (room: string) => room.startsWith('chat:') || room.startsWith('user:');
  adapter.on('create-room', (room) => {
    if (shared(room)) names.set(room, room);
  });
  adapter.on('delete-room', (room) => {
    names.delete(room);
  });
  return (room) => names.get(room) ?? room;
}
