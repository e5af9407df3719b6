import { Peer, type Answers } from './peer.js';
import type { Message } from './protocol.js';

/**
 * A cluster worker's end of the channel to its primary: one per process, shared by the IPC bus,
 * the IPC counters and the metrics. `answers` serves the primary's requests of this worker.
 */
export function connectToPrimary(answers: Answers): Peer {
  const peer = new Peer({
    send: (message: Message) => {
      if (!process.connected || !process.send) return false;
      // With a callback, a channel that closes meanwhile is not an 'error' event that ends the
      // process; the pending request then meets its deadline or close() below.
      process.send(message, undefined, {}, () => {});
      return true;
    },
    answers,
  });
  process.on('message', (raw: unknown) => peer.receive(raw));
  process.once('disconnect', () => peer.close('the primary is gone'));
  return peer;
}
