/**
 * Message payloads and how they are framed for each kind of client.
 *
 * A payload arrives either from the REST data plane (body + Content-Type) or from a
 * PubSub client's `sendToGroup` request (`dataType` + `data`). It leaves in one of two
 * shapes, as described in the subprotocol reference
 * (https://learn.microsoft.com/azure/azure-web-pubsub/reference-json-webpubsub-subprotocol):
 *   - PubSub (subprotocol) clients get a JSON envelope
 *     `{"type":"message","from":"server"|"group",...,"dataType":...,"data":...}`
 *     where binary data is base64 text;
 *   - simple WebSocket clients (no subprotocol) get the bare payload: a text frame for
 *     text/json (json re-serialised) and a binary frame for binary.
 */

export type DataType = 'json' | 'text' | 'binary';

/** A message body, kept in a form from which both frame shapes can be produced. */
export type Payload =
  | { readonly dataType: 'json'; readonly value: unknown }
  | { readonly dataType: 'text'; readonly text: string }
  | { readonly dataType: 'binary'; readonly bytes: Buffer };

/** Where a data message came from: the server (REST) or a group publish. */
export type MessageOrigin =
  | { readonly from: 'server' }
  | { readonly from: 'group'; readonly group: string; readonly fromUserId?: string | null };

export class PayloadError extends Error {}

/** The `data` field of the JSON envelope for a payload. */
export function envelopeData(payload: Payload): unknown {
  switch (payload.dataType) {
    case 'json':
      return payload.value;
    case 'text':
      return payload.text;
    case 'binary':
      return payload.bytes.toString('base64');
  }
}

/**
 * The JSON envelope (without `sequenceId`; the reliable protocol adds it per connection).
 * Field order follows the docs' examples, which makes logs easier to compare.
 */
export function dataEnvelope(origin: MessageOrigin, payload: Payload): Record<string, unknown> {
  const envelope: Record<string, unknown> = { type: 'message', from: origin.from };
  if (origin.from === 'group') {
    envelope['group'] = origin.group;
    // `fromUserId` is only meaningful for client-published group messages; anonymous
    // publishers and REST sends have no user, so the field is left out.
    if (origin.fromUserId) envelope['fromUserId'] = origin.fromUserId;
  }
  envelope['dataType'] = payload.dataType;
  envelope['data'] = envelopeData(payload);
  return envelope;
}

/** Frame for a simple WebSocket client: the payload itself, text or binary. */
export function rawFrame(payload: Payload): { data: string | Buffer; binary: boolean } {
  switch (payload.dataType) {
    case 'json':
      return { data: JSON.stringify(payload.value) ?? 'null', binary: false };
    case 'text':
      return { data: payload.text, binary: false };
    case 'binary':
      return { data: payload.bytes, binary: true };
  }
}

/**
 * Build a payload from a REST request body. The REST API accepts exactly these three
 * content types (MessageContentType in the 2024-12-01 spec); parameters such as
 * `charset=utf-8` are ignored and the body is read as UTF-8.
 */
export function payloadFromRest(contentType: string | undefined, body: Buffer): Payload {
  const mediaType = (contentType ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  switch (mediaType) {
    case 'application/json': {
      const text = body.toString('utf8');
      try {
        return { dataType: 'json', value: JSON.parse(text) as unknown };
      } catch {
        throw new PayloadError('The request body is not valid JSON.');
      }
    }
    case 'text/plain':
      return { dataType: 'text', text: body.toString('utf8') };
    case 'application/octet-stream':
      return { dataType: 'binary', bytes: body };
    default:
      throw new PayloadError(
        `Unsupported Content-Type '${mediaType || '(none)'}'; use application/json, text/plain or application/octet-stream.`,
      );
  }
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * Build a payload from a client request's `dataType`/`data`. Per the request reference,
 * `dataType` defaults to json, `text` needs a string and `binary` needs base64 text.
 */
export function payloadFromClient(dataType: unknown, data: unknown): Payload {
  switch (dataType ?? 'json') {
    case 'json':
      // The SDK omits `data` when it is undefined; treat that as JSON null.
      return { dataType: 'json', value: data === undefined ? null : data };
    case 'text':
      if (typeof data !== 'string') throw new PayloadError("dataType 'text' requires string data.");
      return { dataType: 'text', text: data };
    case 'binary':
      if (typeof data !== 'string' || !BASE64.test(data)) {
        throw new PayloadError("dataType 'binary' requires base64 data.");
      }
      return { dataType: 'binary', bytes: Buffer.from(data, 'base64') };
    default:
      throw new PayloadError(`Unsupported dataType '${String(dataType)}' (json, text and binary are supported).`);
  }
}
