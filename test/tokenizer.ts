// Tokenizers from GGUF metadata against an independent implementation: test/fixtures/tokenizers/*.json hold
// vocabularies trained by test/reference/tokenizer_fixtures.py and the ids the Python `sentencepiece` and
// `tokenizers` packages give for text with spaces, newlines, digits, emoji, CJK, lone surrogates and special
// tokens; lowbit reads the same vocabularies from GGUF files it writes. Chat templates against Jinja2.
import * as fs from 'node:fs';
import * as path from 'node:path';
import t from 'tap';
import { writeGGUF, type GGUFValueType } from 'lowbit';
import { CHATML_TEMPLATE, loadTokenizer, type Tokenizer } from 'lowbit/llm';
import { tmpDir } from './helpers';

const dir = tmpDir('lowbit-tokenizer-');
t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
const FIXTURES = path.join(__dirname, 'fixtures', 'tokenizers');

interface Fixture {
  metadata: Record<string, unknown>;
  cases: Array<{ text: string; ids: number[]; idsNoSpecial: number[] }>;
}
const fixture = (name: string): Fixture => JSON.parse(fs.readFileSync(path.join(FIXTURES, `${name}.json`), 'utf8'));

/** A GGUF file with the fixture's tokenizer metadata (and no tensors), typed as llama.cpp's converter writes it. */
function tokenizerFile(name: string, metadata: Record<string, unknown>): string {
  const m: Record<string, unknown> = { 'general.architecture': 'llama' };
  const types: Record<string, GGUFValueType> = {};
  for (const [k, v] of Object.entries(metadata)) {
    if (k === 'tokenizer.ggml.token_type') m[k] = Int32Array.from(v as number[]);
    else if (k === 'tokenizer.ggml.scores') m[k] = Float32Array.from(v as number[]);
    else m[k] = v;
    if (k.endsWith('_id')) types[k] = 'uint32';
  }
  const file = path.join(dir, `${name}.gguf`);
  writeGGUF(file, { metadata: m as never, types, tensors: [] });
  return file;
}

const wellFormed = (s: string) => s.replace(/\p{Cs}/gu, '\uFFFD');

for (const name of ['spm', 'llama-bpe', 'qwen2', 'gpt2', 'smollm']) {
  const fx = fixture(name);
  const tok = loadTokenizer(tokenizerFile(name, fx.metadata));

  t.test(`${name}: ids equal the reference's, with and without special tokens parsed`, (tt) => {
    tt.equal(tok.model, fx.metadata['tokenizer.ggml.model']);
    tt.equal(tok.vocabularySize, (fx.metadata['tokenizer.ggml.tokens'] as string[]).length);
    for (const c of fx.cases) {
      tt.same(tok.encode(c.text, { addSpecial: false }), c.ids, `${JSON.stringify(c.text)}`);
      tt.same(tok.encode(c.text, { addSpecial: false, parseSpecial: false }), c.idsNoSpecial, `${JSON.stringify(c.text)}, special tokens as text`);
    }
    tt.end();
  });

  t.test(`${name}: BOS as the file asks, decode(encode(s)) == s`, (tt) => {
    const addBos = fx.metadata['tokenizer.ggml.add_bos_token'] ?? fx.metadata['tokenizer.ggml.model'] === 'llama';
    tt.equal(tok.addBos, addBos);
    for (const c of fx.cases) {
      const ids = tok.encode(c.text);
      tt.same(ids, addBos ? [tok.bos, ...c.ids] : c.ids, `addSpecial: ${JSON.stringify(c.text)}`);
      // Control tokens decode to nothing by default, to their text with `special`; user-defined ones to their text.
      tt.equal(tok.decode(ids, { special: true }), (addBos ? tok.tokenText(tok.bos!) : '') + wellFormed(c.text), `round trip ${JSON.stringify(c.text)}`);
      tt.equal(tok.decode(c.idsNoSpecial), wellFormed(c.text), `round trip, special tokens as text: ${JSON.stringify(c.text)}`);
    }
    tt.end();
  });

  t.test(`${name}: a stream decoder gives the decode() text, holding back incomplete UTF-8`, (tt) => {
    for (const c of fx.cases) {
      const d = tok.createDecoder({ atStart: true, special: true });
      const pieces = c.ids.map((id) => d.push(id));
      pieces.push(d.flush());
      tt.equal(pieces.join(''), tok.decode(c.ids, { special: true }), JSON.stringify(c.text));
      tt.notOk(pieces.some((p) => /\uFFFD/.test(p)) && !/[\uFFFD\p{Cs}]/u.test(c.text), `no U+FFFD from split characters: ${JSON.stringify(c.text)}`);
    }
    // A 4-byte character through byte tokens, or pieces that split it: nothing until its last byte.
    const bytes = new TextEncoder().encode('🚀');
    const ids = tok.encode('🚀', { addSpecial: false });
    let joined = '';
    const d = tok.createDecoder();
    for (const id of ids) {
      const before = joined.length;
      joined += d.push(id);
      if (joined.length > before) tt.equal(joined, '🚀'.padStart(joined.length, ' '), 'the character appears whole');
    }
    tt.equal((joined + d.flush()).trim(), '🚀', `${bytes.length} bytes in ${ids.length} tokens`);
    // Cut short: the held bytes come out as U+FFFD at flush.
    const partial = tok.createDecoder();
    const firstIds = ids.filter((id) => tok.tokenBytes(id).length < 4 && tok.tokenBytes(id).length > 0);
    if (firstIds.length > 0 && tok.tokenBytes(firstIds[0]).every((b) => b >= 0x80)) {
      tt.equal(partial.push(firstIds[0]), '');
      tt.equal(partial.flush(), '\uFFFD');
    }
    tt.end();
  });
}

t.test('SentencePiece: the leading space goes at the start and after special tokens, as encoding adds it', (tt) => {
  const tok = loadTokenizer(path.join(dir, 'spm.gguf'));
  const ids = tok.encode('Hello world', { addSpecial: false });
  tt.match(tok.tokenText(ids[0]), /^\u2581/, 'the first piece carries the dummy prefix');
  tt.equal(tok.decode(ids), 'Hello world');
  tt.equal(tok.createDecoder().push(ids[0]).startsWith(' '), true, 'a continuing stream keeps the space');
  tt.equal(tok.decode([tok.bos!, ...ids]), 'Hello world', 'BOS decodes to nothing');
  tt.end();
});

t.test('end-of-generation tokens: EOS and the known end-of-turn texts', (tt) => {
  const qwen = loadTokenizer(path.join(dir, 'qwen2.gguf'));
  const imEnd = qwen.encode('<|im_end|>', { addSpecial: false })[0];
  tt.ok(qwen.endOfGeneration.has(imEnd), '<|im_end|>');
  tt.ok(qwen.isControl(imEnd));
  const llama3 = loadTokenizer(path.join(dir, 'llama-bpe.gguf'));
  tt.ok(llama3.endOfGeneration.has(llama3.eos!), 'EOS');
  tt.end();
});

t.test('bad files: unknown tokenizer models and pre-tokenizers are errors that name the key', (tt) => {
  const fx = fixture('llama-bpe');
  const unknownPre = tokenizerFile('unknown-pre', { ...fx.metadata, 'tokenizer.ggml.pre': 'no-such-pre' });
  tt.throws(() => loadTokenizer(unknownPre), { name: 'LowbitFileError', code: 'UNSUPPORTED', field: 'tokenizer.ggml.pre', message: /no-such-pre.*llama-bpe/ });
  const wpm = tokenizerFile('bert', { ...fx.metadata, 'tokenizer.ggml.model': 'bert' });
  tt.throws(() => loadTokenizer(wpm), { code: 'UNSUPPORTED', field: 'tokenizer.ggml.model', message: /'bert'.*llama, gpt2/ });
  const noMerges = { ...fx.metadata };
  delete noMerges['tokenizer.ggml.merges'];
  tt.throws(() => loadTokenizer(tokenizerFile('no-merges', noMerges)), { code: 'BAD_MODEL', field: 'tokenizer.ggml.merges' });
  const shortTypes = { ...fx.metadata, 'tokenizer.ggml.token_type': [1, 1] };
  tt.throws(() => loadTokenizer(tokenizerFile('short-types', shortTypes)), { code: 'BAD_MODEL', field: 'tokenizer.ggml.token_type' });
  const none = tokenizerFile('none', {});
  tt.throws(() => loadTokenizer(none), { code: 'BAD_MODEL', field: 'tokenizer.ggml.model', message: /no tokenizer/ });
  tt.end();
});

t.test('bad arguments: TypeError or RangeError naming them', (tt) => {
  const tok: Tokenizer = loadTokenizer(path.join(dir, 'spm.gguf'));
  tt.throws(() => tok.encode(5 as never), TypeError);
  tt.throws(() => tok.encode('x', { addSpecial: 1 } as never), { name: 'TypeError', message: /addSpecial/ });
  tt.throws(() => tok.encode('x', { special: true } as never), { name: 'RangeError', message: /unknown option 'special'/ });
  tt.throws(() => tok.decode([tok.vocabularySize]), { name: 'RangeError', message: /token must be an integer in \[0, 900\)/ });
  tt.throws(() => tok.decode([1.5]), RangeError);
  tt.throws(() => tok.decode('abc' as never), TypeError);
  tt.throws(() => tok.applyChatTemplate([{ role: 'user' }] as never), { name: 'TypeError', message: /messages\[0\]\.content/ });
  tt.end();
});

t.test('chat templates render as Jinja2 renders them (transformers\' settings)', (tt) => {
  const fx = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'chat-templates.json'), 'utf8')) as {
    templates: Record<string, string>;
    conversations: Record<string, Array<{ role: string; content: string }>>;
    cases: Array<{ template: string; conversation: string; addGenerationPrompt: boolean; output?: string; error?: string }>;
  };
  const base = fixture('spm').metadata;
  const toks = new Map<string, Tokenizer>();
  for (const [name, src] of Object.entries(fx.templates)) {
    toks.set(name, loadTokenizer(tokenizerFile(`tpl-${name}`, { ...base, 'tokenizer.chat_template': src })));
  }
  for (const c of fx.cases) {
    const tok = toks.get(c.template)!;
    tt.equal(tok.chatTemplate, fx.templates[c.template]);
    const what = `${c.template}, ${c.conversation}, addGenerationPrompt ${c.addGenerationPrompt}`;
    const render = () => tok.applyChatTemplate(fx.conversations[c.conversation], { addGenerationPrompt: c.addGenerationPrompt });
    if (c.error !== undefined) tt.throws(render, { message: new RegExp(c.error.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')) }, what);
    else tt.equal(render(), c.output, what);
  }
  tt.ok(fx.cases.some((c) => c.error !== undefined), 'a template that raises is among them');
  // No template in the file: ChatML.
  const plain = loadTokenizer(path.join(dir, 'spm.gguf'));
  tt.equal(plain.chatTemplate, null);
  tt.equal(plain.applyChatTemplate([{ role: 'user', content: 'Hi' }]), '<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n');
  tt.ok(CHATML_TEMPLATE.includes('im_start'));
  // encodeChat: one BOS, even when the template writes it and the file adds it.
  const mistral = toks.get('mistral')!;
  const ids = mistral.encodeChat([{ role: 'user', content: 'One' }]);
  tt.equal(ids[0], mistral.bos);
  tt.not(ids[1], mistral.bos, 'not twice');
  tt.end();
});
