/**
 * Every payload mynaflow hands to Temporal — workflow and activity arguments and results, update and
 * query arguments, memos — is encrypted before it leaves the process (a PayloadCodec, as in
 * temporalio/samples-typescript's encryption sample): remand and refusal reasons, invitation messages,
 * HR's addresses and user agents never sit readable in Temporal's history, which is kept for years and
 * whose Web UI has no login of its own.
 *
 * AES-256-GCM under a key derived from the vault's master key (HMAC-SHA256 of the master key with a
 * fixed label: the master key itself only wraps data keys); the master key's id travels in the
 * payload's metadata, so histories written under an earlier key still decode while the keyring holds
 * it (MASTER_KEY_PREVIOUS): after a rotation keep the previous key until every workflow started
 * before it has closed and its history's retention has passed (a running workflow replays its
 * history). Payloads without the encrypted encoding (histories of releases before the codec) pass
 * through as they are. API and worker must share the keyring: deploy the codec to both together.
 */
import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';
import { METADATA_ENCODING_KEY, type DataConverter, type Payload, type PayloadCodec } from '@temporalio/common';
import { decode, encode } from '@temporalio/common/lib/encoding';
import { temporal } from '@temporalio/proto';
import type { Keyring } from '../vault/keyring';

export const ENCRYPTED_ENCODING = 'binary/encrypted';
export const KEY_ID_METADATA = 'encryption-key-id';
const IV_BYTES = 12;
const TAG_BYTES = 16;

export class PayloadKeyUnavailable extends Error {
  constructor(keyId: string) {
    super(`a Temporal payload is encrypted under master key ${keyId}, which this keyring does not hold (add it to MASTER_KEY_PREVIOUS)`);
    this.name = 'PayloadKeyUnavailable';
  }
}

export function createPayloadCodec(keyring: Keyring): PayloadCodec {
  const keys = new Map<string, Buffer>();
  const keyFor = (keyId: string): Buffer => {
    let key = keys.get(keyId);
    if (!key) {
      const master = keyring.get(keyId);
      if (!master) throw new PayloadKeyUnavailable(keyId);
      key = createHmac('sha256', master).update('mynaflow temporal payloads v1').digest();
      keys.set(keyId, key);
    }
    return key;
  };

  return {
    async encode(payloads: Payload[]): Promise<Payload[]> {
      const keyId = keyring.activeId;
      const key = keyFor(keyId);
      return payloads.map((payload) => {
        const iv = randomBytes(IV_BYTES);
        const cipher = createCipheriv('aes-256-gcm', key, iv);
        // The key id is bound to the ciphertext: a payload cannot be relabelled to another key.
        cipher.setAAD(Buffer.from(keyId));
        const body = Buffer.concat([cipher.update(temporal.api.common.v1.Payload.encode(payload).finish()), cipher.final()]);
        return {
          metadata: { [METADATA_ENCODING_KEY]: encode(ENCRYPTED_ENCODING), [KEY_ID_METADATA]: encode(keyId) },
          data: new Uint8Array(Buffer.concat([iv, body, cipher.getAuthTag()])),
        };
      });
    },

    async decode(payloads: Payload[]): Promise<Payload[]> {
      return payloads.map((payload) => {
        const encoding = payload.metadata?.[METADATA_ENCODING_KEY];
        if (!encoding || decode(encoding) !== ENCRYPTED_ENCODING) return payload;
        const idBytes = payload.metadata?.[KEY_ID_METADATA];
        if (!idBytes || !payload.data) throw new Error('an encrypted Temporal payload without its key id or data');
        const keyId = decode(idBytes);
        const data = Buffer.from(payload.data);
        if (data.length < IV_BYTES + TAG_BYTES) throw new Error('an encrypted Temporal payload too short to hold its IV and tag');
        const decipher = createDecipheriv('aes-256-gcm', keyFor(keyId), data.subarray(0, IV_BYTES), { authTagLength: TAG_BYTES });
        decipher.setAAD(Buffer.from(keyId));
        decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
        const plain = Buffer.concat([decipher.update(data.subarray(IV_BYTES, data.length - TAG_BYTES)), decipher.final()]);
        return temporal.api.common.v1.Payload.decode(plain);
      });
    },
  };
}

/** The data converter of every client and worker of the deployment. */
export const dataConverterFor = (keyring: Keyring): DataConverter => ({ payloadCodecs: [createPayloadCodec(keyring)] });
