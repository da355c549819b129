/** Chat templates (`tokenizer.chat_template`, Jinja as transformers renders it) through @huggingface/jinja. */
import type { Template as JinjaTemplate } from '@huggingface/jinja' with { 'resolution-mode': 'import' };
import { describe } from '../core/describe';

/** One turn of a conversation. `role` is what the template expects: usually `system`, `user`, `assistant`. */
export interface ChatMessage {
  role: string;
  content: string;
}

let Template: typeof JinjaTemplate | undefined;
const compiled = new Map<string, JinjaTemplate>();

function template(source: string): JinjaTemplate {
  let t = compiled.get(source);
  if (t === undefined) {
    // An ES module with a CommonJS build, loaded on first use.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    Template ??= (require('@huggingface/jinja') as { Template: typeof JinjaTemplate }).Template;
    t = new Template(source);
    if (compiled.size >= 8) compiled.delete(compiled.keys().next().value!);
    compiled.set(source, t);
  }
  return t;
}

/** Checks `messages` and renders them; a template's `raise_exception(...)` is an Error with its message. */
export function renderChatTemplate(
  source: string,
  messages: readonly ChatMessage[],
  o: { addGenerationPrompt: boolean; bosToken: string; eosToken: string },
): string {
  const fn = 'applyChatTemplate';
  if (!Array.isArray(messages)) throw new TypeError(`${fn}: messages must be an array of { role, content } (got ${describe(messages)})`);
  const plain = messages.map((m, i) => {
    if (m === null || typeof m !== 'object') throw new TypeError(`${fn}: messages[${i}] must be an object { role, content } (got ${describe(m)})`);
    if (typeof m.role !== 'string') throw new TypeError(`${fn}: messages[${i}].role must be a string (got ${describe(m.role)})`);
    if (typeof m.content !== 'string') throw new TypeError(`${fn}: messages[${i}].content must be a string (got ${describe(m.content)})`);
    return { role: m.role, content: m.content };
  });
  const t = template(source);
  try {
    // @huggingface/jinja defines raise_exception (an Error with the template's message).
    return t.render({ messages: plain, add_generation_prompt: o.addGenerationPrompt, bos_token: o.bosToken, eos_token: o.eosToken });
  } catch (e) {
    throw new Error(`${fn}: the chat template failed: ${(e as Error).message}`, { cause: e });
  }
}
