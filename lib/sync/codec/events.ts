/**
 * Events messages, DO -> everyone (protocol §3.3): `FileChangeEventsMessage` as compact JSON (`model_dump_json()`),
 * packed in `syfteventsmessagev3_<ts>_<id>.tar.gz`, where `<ts>`/`<id>` must equal `message_filepath` inside.
 * The same `FileChangeEvent` shape is used by rolling states and incremental checkpoints (state-files.ts).
 */
import { randomUUID } from 'node:crypto';
import type { z as Z } from 'zod';
import {
  contentFromJson,
  contentHash,
  contentJson,
  contentTypeOf,
  lazySchema,
  parseJsonText,
  UUID_PATTERN,
  zodProblem,
  type FileContent,
} from './content';
import { MessageFormatError } from './errors';
import { dumpJson, float, obj, type JsonNode } from './json';
import { eventsFileName, newTimestamp, TARBALL_EXTENSION } from './names';
import { utf8, type ProposedFileChange } from './proposal';
import { packMessage, unpackMessage } from './tarball';

export interface FileChangeEvent {
  id: string;
  /** relative to the datasite of `datasite_email`, `/`-separated (unvetted when decoded) */
  path_in_datasite: string;
  datasite_email: string;
  content: FileContent;
  old_hash: string | null;
  new_hash: string | null;
  is_deleted: boolean;
  submitted_timestamp: number;
  timestamp: number;
}

export interface EventsMessageFilePath {
  id: string;
  timestamp: number;
  extension: string;
}

export interface FileChangeEventsMessage {
  events: FileChangeEvent[];
  message_filepath: EventsMessageFilePath;
}

export function eventNode(e: FileChangeEvent): JsonNode {
  return obj(
    ['id', e.id],
    ['path_in_datasite', e.path_in_datasite],
    ['datasite_email', e.datasite_email],
    ['content', contentJson(e.content)],
    ['old_hash', e.old_hash],
    ['new_hash', e.new_hash],
    ['is_deleted', e.is_deleted],
    ['submitted_timestamp', float(e.submitted_timestamp)],
    ['timestamp', float(e.timestamp)],
    ['content_type', contentTypeOf(e.content)],
  );
}

/** `FileChangeEventsMessage.model_dump_json()` (compact). */
export function encodeEvents(msg: FileChangeEventsMessage): string {
  const fp = msg.message_filepath;
  return dumpJson(
    obj(['events', msg.events.map(eventNode)], ['message_filepath', obj(['id', fp.id], ['timestamp', float(fp.timestamp)], ['extension', fp.extension])]),
  );
}

/** The zod schema of one `FileChangeEvent` (shared with the state files). */
export const eventSchema = lazySchema((z) =>
  z.object({
    id: z.string().regex(UUID_PATTERN, { error: 'expected a UUID' }),
    path_in_datasite: z.string(),
    datasite_email: z.string(),
    content: z.string().nullable().optional(),
    content_type: z.enum(['text', 'binary']).nullable().optional(),
    old_hash: z.string().nullable().optional(),
    new_hash: z.string().nullable().optional(),
    is_deleted: z.boolean().optional(),
    submitted_timestamp: finiteNumber(z),
    timestamp: finiteNumber(z),
  }),
);

export function finiteNumber(z: typeof Z) {
  return z.number({ error: 'expected a number' }).refine(Number.isFinite, { error: 'expected a finite number' });
}

type EventWire = Z.infer<ReturnType<typeof eventSchema>>;

/** Wire event -> FileChangeEvent (base64 content decoded, defaults applied). `where` prefixes errors. */
export function eventFromWire(e: EventWire, where: string): FileChangeEvent {
  return {
    id: e.id.toLowerCase(),
    path_in_datasite: e.path_in_datasite,
    datasite_email: e.datasite_email,
    content: contentFromJson(e.content, e.content_type, `${where}.content`),
    old_hash: e.old_hash ?? null,
    new_hash: e.new_hash ?? null,
    is_deleted: e.is_deleted ?? false,
    submitted_timestamp: e.submitted_timestamp,
    timestamp: e.timestamp,
  };
}

const messageSchema = lazySchema((z) =>
  z.object({
    events: z.array(eventSchema()),
    message_filepath: z.object({
      id: z.string().regex(UUID_PATTERN, { error: 'expected a UUID' }),
      timestamp: finiteNumber(z),
      extension: z.string().optional(),
    }),
  }),
);

/** `FileChangeEventsMessage.model_validate_json(text)`; throws `MessageFormatError` naming the bad key. */
export function decodeEvents(text: string): FileChangeEventsMessage {
  const r = messageSchema().safeParse(parseJsonText(text, 'events message'));
  if (!r.success) throw zodProblem(r.error, 'events message');
  const fp = r.data.message_filepath;
  return {
    events: r.data.events.map((e, i) => eventFromWire(e, `events message: events[${i}]`)),
    message_filepath: { id: fp.id.toLowerCase(), timestamp: fp.timestamp, extension: fp.extension ?? TARBALL_EXTENSION },
  };
}

/** The Drive file name the message must have (`message_filepath.as_string()`). */
export function eventsMessageFileName(msg: FileChangeEventsMessage): string {
  return eventsFileName(msg.message_filepath.timestamp, msg.message_filepath.id);
}

/** Throws unless `fileName` is the name `msg.message_filepath` implies (a renamed or forged message). */
export function checkEventsMessageName(msg: FileChangeEventsMessage, fileName: string): void {
  const expected = eventsMessageFileName(msg);
  if (expected !== fileName) throw new MessageFormatError(`events message in ${fileName} says it is ${expected}`);
}

export function packEvents(msg: FileChangeEventsMessage, opts: { mtime?: number } = {}): Buffer {
  return packMessage(encodeEvents(msg), opts);
}

export function unpackEvents(buf: Buffer, opts: { maxBytes?: number } = {}): FileChangeEventsMessage {
  return decodeEvents(utf8(unpackMessage(buf, opts), 'events message'));
}

/**
 * `FileChangeEvent.from_proposed_filechange`: keeps the change's id, path, content, hashes, datasite and
 * `submitted_timestamp`, with a new `timestamp`. (Python drops `is_deleted`, which makes a proposed deletion write
 * a `None` file, §7 #8; we keep it, and a deletion's content is null.)
 */
export function eventFromProposedChange(change: ProposedFileChange, timestamp: number): FileChangeEvent {
  return {
    id: change.id,
    path_in_datasite: change.path_in_datasite,
    datasite_email: change.datasite_email,
    content: change.is_deleted ? null : change.content,
    old_hash: change.old_hash,
    new_hash: change.is_deleted ? null : change.new_hash,
    is_deleted: change.is_deleted,
    submitted_timestamp: change.submitted_timestamp,
    timestamp,
  };
}

/** A locally detected new or changed file (`process_local_file_changes`): both timestamps are the same. */
export function fileChangeEvent(args: {
  path: string;
  datasiteEmail: string;
  content: string | Buffer;
  oldHash: string | null;
  timestamp?: number;
  id?: string;
}): FileChangeEvent {
  const ts = args.timestamp ?? newTimestamp();
  return {
    id: args.id ?? randomUUID(),
    path_in_datasite: args.path,
    datasite_email: args.datasiteEmail,
    content: args.content,
    old_hash: args.oldHash,
    new_hash: contentHash(args.content),
    is_deleted: false,
    submitted_timestamp: ts,
    timestamp: ts,
  };
}

/** A locally detected deletion: `is_deleted`, content and `new_hash` null, `old_hash` = the last known hash. */
export function deletionEvent(args: { path: string; datasiteEmail: string; oldHash: string | null; timestamp?: number; id?: string }): FileChangeEvent {
  const ts = args.timestamp ?? newTimestamp();
  return {
    id: args.id ?? randomUUID(),
    path_in_datasite: args.path,
    datasite_email: args.datasiteEmail,
    content: null,
    old_hash: args.oldHash,
    new_hash: null,
    is_deleted: true,
    submitted_timestamp: ts,
    timestamp: ts,
  };
}

/** A message around `events` whose `message_filepath` matches the file name it will be uploaded as. */
export function makeEventsMessage(events: readonly FileChangeEvent[], opts: { timestamp?: number; id?: string } = {}): FileChangeEventsMessage {
  const id = (opts.id ?? randomUUID()).toLowerCase();
  if (!UUID_PATTERN.test(id)) throw new RangeError(`events message id ${JSON.stringify(id)} is not a UUID`);
  return { events: [...events], message_filepath: { id, timestamp: opts.timestamp ?? newTimestamp(), extension: TARBALL_EXTENSION } };
}
