export { LogHub, type LogHubOptions, type LogListener } from './log-hub.js';
export { FileSink, type FileSinkOptions } from './file-sink.js';
export { LineSplitter, parseLine, type LogLevel, type LogRecord } from './log-record.js';
export { Redactor, redactText, REDACTED } from './redact.js';
