/**
 * `lowbit run` and `lowbit chat`: text in, text out on a GGUF model, as llama.cpp's llama-cli does. The
 * reply streams to stdout; loading progress and the tokens/s of prompt and generation go to stderr.
 */
import * as readline from 'node:readline';
import { parse, progressLine, quantity, threads, UsageError, type Values } from './cli-common';
import type { GenerateOptions, Generation, Model } from '../llm';

const SAMPLING_HELP = `Sampling (llama.cpp's defaults):
  --temp T            temperature, 0 = greedy (default 0.8)
  --top-k K           (default 40; 0 = off)     --top-p P   (default 0.95; 1 = off)
  --min-p P           (default 0.05; 0 = off)   --repeat-penalty R (default 1 = off)
  --seed S            makes the draws reproducible (default random)
Model and cache:
  --threads N         threads for the forward passes (default: every core)
  --ctx N             context length of the KV cache (default: the model's, at most 4096)
  --kv-type T         f16 (default) or q8_0`;

export const TEXT_HELP = {
  run: `usage: lowbit run MODEL.gguf -p PROMPT [-n N] [options]

Generates a continuation of PROMPT with the model and its tokenizer and streams it to stdout (the prompt is
not repeated); prompt and generation tokens/s go to stderr at the end. Ctrl-C stops the generation.
  -p, --prompt TEXT   the prompt (special tokens written in it, such as <|im_start|>, are parsed)
  -f, --file FILE     read the prompt from FILE instead
  -n, --n-predict N   most tokens to generate (default: until the model's end-of-generation token or a full context)
  --chat              wrap the prompt in the model's chat template as one user message
  --ignore-eos        go on past end-of-generation tokens (for timing)
${SAMPLING_HELP}`,
  chat: `usage: lowbit chat MODEL.gguf [--system TEXT] [options]

An interactive conversation with the model's chat template (tokenizer.chat_template; ChatML when the file has
none): type a message and Enter; the reply streams back. Earlier turns stay in the KV cache. Ctrl-C stops a
reply; Ctrl-D (or Ctrl-C at the prompt) ends the chat.
  --system TEXT       a system message
  -n, --n-predict N   most tokens per reply (default: until the end of the turn)
${SAMPLING_HELP}`,
};

const SAMPLING_FLAGS = {
  threads: { type: 'string' }, ctx: { type: 'string' }, 'kv-type': { type: 'string' }, temp: { type: 'string' }, 'top-k': { type: 'string' },
  'top-p': { type: 'string' }, 'min-p': { type: 'string' }, 'repeat-penalty': { type: 'string' }, seed: { type: 'string' },
  'n-predict': { type: 'string', short: 'n' },
} as const;

interface Common {
  file: string;
  contextLength: number | undefined;
  kvType: 'f16' | 'q8_0' | undefined;
  generate: GenerateOptions;
}

function common(cmd: string, values: Values, positionals: string[]): Common {
  if (positionals.length !== 1) throw new UsageError(`${cmd}: give one model file (lowbit ${cmd} MODEL.gguf ...)`);
  const str = (k: string) => values[k] as string | undefined;
  const num = (flag: string, ok: (x: number) => boolean, what: string, kind: 'plain' | 'count' = 'plain'): number | undefined => {
    const s = str(flag);
    if (s === undefined) return undefined;
    const x = quantity(flag, s, kind);
    if (!ok(x)) throw new UsageError(`--${flag}: '${s}' is not ${what}`);
    return x;
  };
  const int = (x: number) => Number.isSafeInteger(x);
  threads(str('threads'));
  const kv = str('kv-type');
  if (kv !== undefined && kv !== 'f16' && kv !== 'q8_0') throw new UsageError(`--kv-type: '${kv}' is not f16 or q8_0`);
  const generate: GenerateOptions = {
    temperature: num('temp', (x) => x >= 0, 'a number >= 0'),
    topK: num('top-k', (x) => int(x) && x >= 0, 'an integer >= 0'),
    topP: num('top-p', (x) => x > 0 && x <= 1, 'in (0, 1]'),
    minP: num('min-p', (x) => x >= 0 && x <= 1, 'in [0, 1]'),
    repeatPenalty: num('repeat-penalty', (x) => x > 0, 'a number > 0'),
    seed: num('seed', int, 'an integer'),
    maxTokens: num('n-predict', (x) => int(x) && x >= 0, 'an integer >= 0', 'count'),
  };
  for (const k of Object.keys(generate) as Array<keyof GenerateOptions>) if (generate[k] === undefined) delete generate[k];
  return {
    file: positionals[0],
    contextLength: num('ctx', (x) => int(x) && x >= 1, 'an integer >= 1', 'count'),
    kvType: kv as 'f16' | 'q8_0' | undefined,
    generate,
  };
}

/** Loads with a progress line on stderr; a file lowbit cannot use is a usage error (one line, exit 2). */
async function load(cmd: string, file: string): Promise<Model> {
  // Loaded here: the other commands need no model runner.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { loadModelAsync } = require('../llm') as typeof import('../llm');
  const line = progressLine();
  try {
    const model = await loadModelAsync(file, { onProgress: (f) => line.report(f, 'loading model') });
    if (model.tokenizer === null) {
      model.dispose();
      throw new UsageError(`${cmd}: ${file}: the file has no tokenizer (tokenizer.ggml.*)`);
    }
    return model;
  } catch (e) {
    const err = e as Error;
    if (e instanceof UsageError || err.name === 'LowbitFileError' || e instanceof RangeError || e instanceof TypeError) {
      throw e instanceof UsageError ? e : new UsageError(`${cmd}: ${err.message.replace(/^loadModel(Async)?: /, '')}`);
    }
    throw e;
  } finally {
    line.end();
  }
}

const rate = (n: number, s: number) => (s > 0 ? (n / s).toFixed(2) : '-');

/** llama-cli's closing lines: prompt and generation tokens, milliseconds and tokens/s. */
function report(g: Generation): void {
  const s = g.stats;
  process.stderr.write(
    `lowbit: prompt ${s.promptTokens} tokens in ${(s.promptSeconds * 1e3).toFixed(1)} ms (${rate(s.promptTokens, s.promptSeconds)} tokens/s); ` +
      `generation ${s.tokens} tokens in ${(s.seconds * 1e3).toFixed(1)} ms (${rate(Math.max(0, s.tokens - 1), s.seconds)} tokens/s); ` +
      `ended: ${s.finishReason ?? 'aborted'}\n`,
  );
}

/** A reader that went away (`lowbit run ... | head`) ends the command quietly, as other CLIs do. */
function quietOnClosedPipe(): void {
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(0);
    throw e;
  });
}

/** Streams a generation to stdout; Ctrl-C aborts it (the partial reply stays). */
async function stream(make: (signal: AbortSignal) => Generation): Promise<Generation> {
  const ac = new AbortController();
  const onInt = () => ac.abort();
  process.on('SIGINT', onInt);
  const g = make(ac.signal);
  try {
    for await (const { text } of g) if (text) process.stdout.write(text);
  } catch (e) {
    if (!ac.signal.aborted) throw e;
  } finally {
    process.off('SIGINT', onInt);
  }
  return g;
}

export async function runCommand(args: string[]): Promise<void> {
  const { values, positionals } = parse(args, {
    ...SAMPLING_FLAGS, prompt: { type: 'string', short: 'p' }, file: { type: 'string', short: 'f' }, chat: { type: 'boolean' },
    'ignore-eos': { type: 'boolean' },
  }, true);
  if (values.help) return void console.log(TEXT_HELP.run);
  const c = common('run', values, positionals);
  let prompt = values.prompt as string | undefined;
  if (values.file !== undefined) {
    if (prompt !== undefined) throw new UsageError('run: give -p or -f, not both');
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      prompt = (require('node:fs') as typeof import('node:fs')).readFileSync(values.file as string, 'utf8');
    } catch (e) {
      throw new UsageError(`run: -f ${values.file as string}: ${(e as Error).message}`);
    }
  }
  if (prompt === undefined || prompt.length === 0) throw new UsageError('run: give a prompt with -p TEXT or -f FILE');
  quietOnClosedPipe();
  const model = await load('run', c.file);
  try {
    const tokenizer = model.tokenizer!;
    const ids = values.chat ? tokenizer.encodeChat([{ role: 'user', content: prompt }]) : tokenizer.encode(prompt);
    const g = await stream((signal) =>
      model.generate(ids, { ...c.generate, signal, ignoreEndOfGeneration: values['ignore-eos'] === true, contextLength: c.contextLength, kvType: c.kvType }),
    );
    process.stdout.write('\n');
    report(g);
  } catch (e) {
    if (e instanceof RangeError || e instanceof TypeError) throw new UsageError(`run: ${e.message.replace(/^(generate|createSession): /, '')}`);
    throw e;
  } finally {
    model.dispose();
  }
}

export async function chatCommand(args: string[]): Promise<void> {
  const { values, positionals } = parse(args, { ...SAMPLING_FLAGS, system: { type: 'string' } }, true);
  if (values.help) return void console.log(TEXT_HELP.chat);
  const c = common('chat', values, positionals);
  const model = await load('chat', c.file);
  const chat = model.createChat({ system: values.system as string | undefined, contextLength: c.contextLength, kvType: c.kvType });
  const rl = readline.createInterface({ input: process.stdin, output: process.stdout, terminal: process.stdin.isTTY === true });
  // Ctrl-C at the prompt ends the chat, as Ctrl-D does (during a reply, stream() takes it).
  rl.on('SIGINT', () => rl.close());
  rl.setPrompt('> ');
  // Lines typed (or piped) while a reply streams wait in the iterator's queue.
  const lines = rl[Symbol.asyncIterator]();
  try {
    for (;;) {
      rl.prompt();
      const next = await lines.next();
      if (next.done) break;
      const line = next.value as string;
      if (line.trim().length === 0) continue;
      let g: Generation;
      try {
        g = await stream((signal) => chat.send(line, { ...c.generate, signal }));
      } catch (e) {
        if (!(e instanceof RangeError)) throw e;
        process.stderr.write(`lowbit: ${e.message}\n`);
        continue;
      }
      process.stdout.write('\n');
      report(g);
    }
  } finally {
    rl.close();
    process.stdout.write('\n');
    chat.dispose();
    model.dispose();
  }
}
