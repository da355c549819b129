/**
 * A conversation: the turns so far rendered with the model's chat template, each reply generated in one
 * session whose KV cache keeps the earlier turns (only the tokens after the longest common prefix of the
 * cache and the newly rendered conversation are run again).
 */
import { describe } from '../core/describe';
import { Generation, generateOptions, generateTokens, type GenerateOptions } from './generate';
import type { Session } from './index';
import type { ChatMessage, Tokenizer } from './tokenizer';

export interface ChatOptions {
  /** A system message that opens the conversation. */
  system?: string;
}

export class Chat {
  readonly session: Session;
  readonly tokenizer: Tokenizer;
  #messages: ChatMessage[] = [];
  #busy = false;

  /** @internal Use `model.createChat()`. */
  constructor(session: Session, tokenizer: Tokenizer, options: ChatOptions) {
    if (options === null || typeof options !== 'object') throw new TypeError(`createChat: options must be an object (got ${describe(options)})`);
    for (const [k, v] of Object.entries(options)) {
      if (k !== 'system' && v !== undefined) throw new RangeError(`createChat: unknown option '${k}' (allowed: system, contextLength, kvType)`);
    }
    if (options.system !== undefined && typeof options.system !== 'string') {
      throw new TypeError(`createChat: options.system must be a string (got ${describe(options.system)})`);
    }
    this.session = session;
    this.tokenizer = tokenizer;
    if (options.system !== undefined) this.#messages.push({ role: 'system', content: options.system });
  }

  /** The conversation so far (a copy). */
  get messages(): ChatMessage[] {
    return this.#messages.map((m) => ({ ...m }));
  }

  /**
   * Adds the user's `content` and generates the reply (until the model's end-of-turn token, by default);
   * the reply joins the conversation when the generation ends, however it ends.
   */
  send(content: string, options?: GenerateOptions): Generation {
    if (typeof content !== 'string') throw new TypeError(`send: content must be a string (got ${describe(content)})`);
    const o = generateOptions('send', options);
    if (o.addSpecial !== undefined || options?.parseSpecial !== undefined) {
      throw new RangeError('send: options.addSpecial and options.parseSpecial do not apply (the chat template decides)');
    }
    if (this.#busy) throw new Error('send: the previous reply is still being generated');
    const messages = [...this.#messages, { role: 'user', content }];
    const ids = this.tokenizer.encodeChat(messages);
    const session = this.session;
    const cached = session.tokens;
    let common = 0;
    while (common < cached.length && common < ids.length && cached[common] === ids[common]) common++;
    // At least one token runs, for the logits the first draw needs.
    const keep = Math.min(common, ids.length - 1);
    if (ids.length > session.contextLength) {
      throw new RangeError(`send: the conversation is ${ids.length} tokens, more than the session's context of ${session.contextLength}`);
    }
    const chat = this;
    const turns = this.#messages.length;
    // Nothing changes until the reply is iterated: a Generation never iterated leaves the chat as it was.
    return new Generation(async function* (this: void, stats) {
      if (chat.#busy) throw new Error('send: the previous reply is still being generated');
      if (chat.#messages.length !== turns) throw new Error('send: the conversation changed after this reply was asked for');
      chat.#busy = true;
      try {
        session.rewind(keep);
        chat.#messages = messages;
        try {
          yield* generateTokens(session, session.tokenizer, ids.slice(keep), o, stats);
        } finally {
          chat.#messages.push({ role: 'assistant', content: stats.text });
        }
      } finally {
        chat.#busy = false;
      }
    });
  }

  /** Frees the session's KV cache. */
  dispose(): void {
    this.session.dispose();
  }

  [Symbol.dispose](): void {
    this.dispose();
  }
}
