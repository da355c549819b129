"""Writes test/fixtures/tokenizers/*.json: GGUF tokenizer metadata and the token ids an independent
implementation gives for a set of test strings, plus chat templates rendered by Python's Jinja2.

Run by hand (not at test time) after changing the strings or templates; its output is checked in:

    python3 -m venv /tmp/venv && /tmp/venv/bin/pip install sentencepiece tokenizers jinja2
    /tmp/venv/bin/python test/reference/tokenizer_fixtures.py

- `spm.json`: a SentencePiece BPE model trained here (byte fallback, identity normalization, the dummy
  prefix: the settings of Llama 2's tokenizer), written into GGUF's `llama` tokenizer keys as llama.cpp's
  converter does (pieces, scores, token types); expected ids from the `sentencepiece` package.
- `llama-bpe.json`, `qwen2.json`, `gpt2.json`, `smollm.json`: byte-level BPE tokenizers trained here
  with the pre-tokenizer of Llama 3, Qwen2, GPT-2 and SmolLM, written into GGUF's `gpt2` tokenizer keys (tokens, merges,
  types, `tokenizer.ggml.pre`); expected ids from the Rust `tokenizers` package.
- `chat-templates.json`: widely used chat templates rendered by Jinja2 with transformers' settings (a
  sandboxed environment, trim_blocks, lstrip_blocks, its `tojson` and `raise_exception`).
"""
import json
import os
import random
import tempfile

import jinja2.sandbox
import sentencepiece as spm
from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, trainers

OUT = os.path.join(os.path.dirname(__file__), '..', 'fixtures', 'tokenizers')

# Training text: prose, code, numbers, whitespace runs, CJK and emoji, so that the vocabularies have
# multi-character pieces of each kind and the test strings exercise merges as well as fallbacks.
PROSE = """Generating tokens is memory-bound: every weight is read once per token, so bytes per weight and
the speed of reading them set the speed. Quantization stores each weight in fewer bits, with a scale per
group of weights. The outlier problem: one large value stretches the scale and the small values round to
zero. We'll measure the unit, then multiply. It's the method they've used, and I'd say it's sound.
The quick brown fox jumps over the lazy dog. She sells sea shells by the sea shore.
In 2024 the model had 1.1 billion parameters, 22 layers and a context of 2048 tokens; 3.14159 is pi.
"""
CODE = """function matmul(a, b, n) {
    let sum = 0;
    for (let i = 0; i < n; i++) {
        sum += a[i] * b[i];
    }
    return sum;  // the dot product
}
def quantize(x, bits=4):
\tscale = max(abs(v) for v in x) / (2 ** (bits - 1) - 1)
\treturn [round(v / scale) for v in x]
"""
WORLD = """你好，世界。这是一个测试。机器学习模型在中央处理器上运行。
日本語のテキストです。東京は大きな都市です。
한국어 문장입니다. 안녕하세요.
Emoji: 😀 😀 🚀 👍 🎉 ❤️ — naïve café résumé Ωmega.
"""
CORPUS = (PROSE + CODE + WORLD) * 3

TESTS = [
    'Hello world',
    'hello world, Hello World, HELLO WORLD',
    '  leading spaces, double  spaces and trailing ',
    ' ',
    '',
    'line one\nline two\n\n\tindented\r\nend',
    '\n\n\n',
    'digits 1234567 and 3.14159, 2026-12-05, 0x1F',
    "contractions: I'm, you're, it's, we'll, they'd, I've; CAPS: I'M, YOU'RE, IT'S",
    'function f(x) { return x * 2; }  // comment\n    indented();',
    'emoji 😀🚀 and 👍🏽 and a family 👨\u200d👩\u200d👧',
    'CJK 你好，世界。日本語のテキスト 한국어 문장',
    'unseen characters: ∮ ⊕ ǅ ☃ 𝔘𝔫𝔦𝔠𝔬𝔡𝔢',
    'naïve café résumé Ωmega — “quotes” ‘single’',
    'a lone surrogate \ud800 here and a reversed pair \udc00\ud800 there',
    'The quick brown fox jumps over the lazy dog. She sells sea shells by the sea shore.',
    '    four spaces, then\ttabs\t\tand\u00a0no-break spaces',
]


def well_formed(s):
    """What a UTF-8 encoder makes of a JavaScript string: each lone surrogate becomes U+FFFD."""
    return s.encode('utf-16-le', 'surrogatepass').decode('utf-16-le', 'replace')


def split_special(text, specials):
    """Splits text on the special tokens' texts, longest first, as llama.cpp's partition does."""
    out = [text]
    for sp in sorted(specials, key=len, reverse=True):
        nxt = []
        for part in out:
            if isinstance(part, tuple):
                nxt.append(part)
                continue
            pieces = part.split(sp)
            for i, p in enumerate(pieces):
                if i > 0:
                    nxt.append((sp,))
                if p:
                    nxt.append(p)
        out = nxt
    return out


def spm_fixture():
    with tempfile.TemporaryDirectory() as d:
        corpus = os.path.join(d, 'corpus.txt')
        with open(corpus, 'w', encoding='utf-8') as f:
            f.write(CORPUS)
        prefix = os.path.join(d, 'spm')
        spm.SentencePieceTrainer.train(
            input=corpus, model_prefix=prefix, model_type='bpe', vocab_size=900,
            byte_fallback=True, normalization_rule_name='identity', add_dummy_prefix=True,
            remove_extra_whitespaces=False, split_digits=True, allow_whitespace_only_pieces=True,
            character_coverage=1.0, hard_vocab_limit=False, user_defined_symbols=['<|user|>', '<|assistant|>'],
            unk_id=0, bos_id=1, eos_id=2, pad_id=-1, minloglevel=2, num_threads=1)
        sp = spm.SentencePieceProcessor(model_file=prefix + '.model')
    n = sp.get_piece_size()
    types = []
    for i in range(n):
        if sp.is_unknown(i):
            types.append(2)
        elif sp.is_control(i):
            types.append(3)
        elif sp.is_byte(i):
            types.append(6)
        elif sp.is_unused(i):
            types.append(5)
        elif sp.id_to_piece(i) in ('<|user|>', '<|assistant|>'):
            types.append(4)  # user-defined
        else:
            types.append(1)
    tokens = [sp.id_to_piece(i) for i in range(n)]
    # llama.cpp splits text on the special tokens first (control and user-defined ones; user-defined ones even
    # when special tokens are not parsed), then encodes each text fragment with a space prefix when it starts
    # the text or follows a special token: SentencePiece's dummy prefix, which sp.encode adds to each fragment.
    control = [t for t, ty in zip(tokens, types) if ty == 3]
    user = [t for t, ty in zip(tokens, types) if ty == 4]

    def encode(text, specials):
        ids = []
        for part in split_special(well_formed(text), specials):
            ids += [tokens.index(part[0])] if isinstance(part, tuple) else sp.encode(part)
        return ids

    cases = []
    for s in TESTS + ['<s>Hello</s> world</s>', '<|user|>\nHi there<|assistant|>\nHello!</s>', '</s>', 'x<s>']:
        ids = encode(s, control + user)
        plain = encode(s, user)
        cases.append({'text': s, 'ids': ids, 'idsNoSpecial': plain, 'roundTrip': sp.decode(plain) == well_formed(s)})
    return {
        'description': 'SentencePiece BPE (byte fallback, identity normalization, dummy prefix); ids from the sentencepiece package',
        'metadata': {
            'tokenizer.ggml.model': 'llama',
            'tokenizer.ggml.tokens': tokens,
            'tokenizer.ggml.scores': [sp.get_score(i) for i in range(n)],
            'tokenizer.ggml.token_type': types,
            'tokenizer.ggml.bos_token_id': sp.bos_id(),
            'tokenizer.ggml.eos_token_id': sp.eos_id(),
            'tokenizer.ggml.unknown_token_id': sp.unk_id(),
            'tokenizer.ggml.add_bos_token': True,
            'tokenizer.ggml.add_eos_token': False,
        },
        'cases': cases,
    }


# The pre-tokenizer regexes of the tokenizer.json files these GGUF `tokenizer.ggml.pre` names come from.
LLAMA3 = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
QWEN2 = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"


def bpe_fixture(pre, specials, bos, add_bos):
    if pre == 'gpt2':
        pretok = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    elif pre == 'smollm':
        # SmolLM's tokenizer.json: every digit on its own, then GPT-2's byte-level split.
        pretok = pre_tokenizers.Sequence([
            pre_tokenizers.Digits(individual_digits=True),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True),
        ])
    else:
        pretok = pre_tokenizers.Sequence([
            pre_tokenizers.Split(Regex(LLAMA3 if pre == 'llama-bpe' else QWEN2), behavior='isolated', invert=False),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ])
    tk = Tokenizer(models.BPE(ignore_merges=(pre == 'llama-bpe')))
    tk.pre_tokenizer = pretok
    tk.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=700, min_frequency=2, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tk.train_from_iterator([CORPUS], trainer=trainer)
    tk.add_special_tokens(specials)
    model = json.loads(tk.to_str())['model']
    vocab = tk.get_vocab(with_added_tokens=True)
    n = len(vocab)
    tokens = [None] * n
    for t, i in vocab.items():
        tokens[i] = t
    types = [3 if t in specials else 1 for t in tokens]
    merges = [m if isinstance(m, str) else ' '.join(m) for m in model['merges']]
    cases = []
    for s in TESTS + [specials[0] + 'Hi there' + specials[1] + '\n' + specials[0], 'x ' + specials[1] + ' y']:
        tk.encode_special_tokens = False
        ids = tk.encode(well_formed(s), add_special_tokens=False).ids
        tk.encode_special_tokens = True  # special tokens' texts encoded as ordinary text
        plain = tk.encode(well_formed(s), add_special_tokens=False).ids
        cases.append({'text': s, 'ids': ids, 'idsNoSpecial': plain, 'roundTrip': tk.decode(plain) == well_formed(s)})
    meta = {
        'tokenizer.ggml.model': 'gpt2',
        'tokenizer.ggml.pre': pre,
        'tokenizer.ggml.tokens': tokens,
        'tokenizer.ggml.token_type': types,
        'tokenizer.ggml.merges': merges,
        'tokenizer.ggml.bos_token_id': vocab[bos],
        'tokenizer.ggml.eos_token_id': vocab[specials[1]],
        'tokenizer.ggml.add_bos_token': add_bos,
    }
    return {
        'description': f'byte-level BPE with the {pre} pre-tokenizer; ids from the tokenizers package',
        'metadata': meta,
        'cases': cases,
    }


def chat_templates():
    env = jinja2.sandbox.ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)

    def raise_exception(message):
        raise jinja2.exceptions.TemplateError(message)

    def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
        # transformers' filter: JSON without Jinja2's HTML escaping, non-ASCII characters kept
        return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)

    env.globals['raise_exception'] = raise_exception
    env.filters['tojson'] = tojson
    templates = {
        'llama3': (
            "{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = '<|start_header_id|>' + "
            "message['role'] + '<|end_header_id|>\n\n'+ message['content'] | trim + '<|eot_id|>' %}{% if loop.index0 == 0 %}"
            "{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}{% if add_generation_prompt %}"
            "{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}"),
        'chatml': (
            "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}{{ '<|im_start|>system\n"
            "You are a helpful assistant.<|im_end|>\n' }}{% endif %}{{'<|im_start|>' + message['role'] + '\n' + "
            "message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"),
        'zephyr': (
            "{% for message in messages %}\n{% if message['role'] == 'user' %}\n{{ '<|user|>\n' + message['content'] + eos_token }}\n"
            "{% elif message['role'] == 'system' %}\n{{ '<|system|>\n' + message['content'] + eos_token }}\n"
            "{% elif message['role'] == 'assistant' %}\n{{ '<|assistant|>\n'  + message['content'] + eos_token }}\n{% endif %}\n"
            "{% if loop.last and add_generation_prompt %}\n{{ '<|assistant|>' }}\n{% endif %}\n{% endfor %}"),
        'mistral': (
            "{{ bos_token }}{% for message in messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
            "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}"
            "{% if message['role'] == 'user' %}{{ '[INST] ' + message['content'] + ' [/INST]' }}{% elif message['role'] == 'assistant' %}"
            "{{ message['content'] + eos_token}}{% else %}{{ raise_exception('Only user and assistant roles are supported!') }}{% endif %}{% endfor %}"),
        # Constructs recent templates use (Qwen3's, Llama 3.1's): a namespace, a filtered loop, slicing,
        # string methods, filters with attributes, tojson.
        'namespace-tojson': (
            "{%- set ns = namespace(system='', users=0) -%}{%- for m in messages -%}{%- if m.role == 'system' -%}"
            "{%- set ns.system = m.content -%}{%- endif -%}{%- endfor -%}{{- bos_token -}}{%- if ns.system -%}"
            "<<SYS>>{{ ns.system | trim }}<</SYS>>\n{%- endif -%}"
            "{%- for m in messages if m.role != 'system' -%}{%- if m.role == 'user' -%}{%- set ns.users = ns.users + 1 -%}{%- endif -%}"
            "{{ m.role | upper }} {{ loop.index }}: {{ m.content | tojson }}\n{%- endfor -%}"
            "{{ messages | map(attribute='role') | join(',') }}|{{ (messages | selectattr('role', 'equalto', 'user') | list | length) }}|"
            "{{ messages[::-1][0].content.strip().split(' ')[0] }}|{{ ns.users }}\n"
            "{%- if add_generation_prompt -%}ASSISTANT:{%- endif -%}"),
    }
    conversations = {
        'user only': [{'role': 'user', 'content': 'Hello! How are you?'}],
        'system and turns': [
            {'role': 'system', 'content': '  You are terse.  '},
            {'role': 'user', 'content': 'Name a prime.'},
            {'role': 'assistant', 'content': '7'},
            {'role': 'user', 'content': 'Another, with "quotes" and ünïcode 你好?'},
        ],
        'alternating': [
            {'role': 'user', 'content': 'One'},
            {'role': 'assistant', 'content': 'Two'},
            {'role': 'user', 'content': 'Three\nlines\n'},
        ],
    }
    cases = []
    for name, src in templates.items():
        tpl = env.from_string(src)
        for conv, messages in conversations.items():
            for gen in (True, False):
                try:
                    out = tpl.render(messages=messages, add_generation_prompt=gen, bos_token='<s>', eos_token='</s>')
                    cases.append({'template': name, 'conversation': conv, 'addGenerationPrompt': gen, 'output': out})
                except jinja2.exceptions.TemplateError as e:
                    cases.append({'template': name, 'conversation': conv, 'addGenerationPrompt': gen, 'error': str(e)})
    return {'templates': templates, 'conversations': conversations, 'cases': cases}


def write(name, obj):
    with open(os.path.join(OUT, name), 'w', encoding='utf-8') as f:
        json.dump(obj, f, ensure_ascii=True, separators=(',', ':'))
        f.write('\n')


if __name__ == '__main__':
    random.seed(0)
    os.makedirs(OUT, exist_ok=True)
    write('spm.json', spm_fixture())
    write('llama-bpe.json', bpe_fixture('llama-bpe', ['<|begin_of_text|>', '<|eot_id|>'], '<|begin_of_text|>', True))
    write('qwen2.json', bpe_fixture('qwen2', ['<|im_start|>', '<|im_end|>'], '<|im_start|>', False))
    write('gpt2.json', bpe_fixture('gpt2', ['<|startoftext|>', '<|endoftext|>'], '<|startoftext|>', False))
    write('smollm.json', bpe_fixture('smollm', ['<|im_start|>', '<|im_end|>'], '<|im_start|>', False))
    write('chat-templates.json', chat_templates())
