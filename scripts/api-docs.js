#!/usr/bin/env node
// @ts-check
// docs/api.md from the TSDoc comments of lib/: every export of the package's entry points (lib/index.ts for
// `lowbit`, lib/llm/index.ts for `lowbit/llm`) with its signature and its documentation, by the TypeScript
// compiler's own reading of them.
// Usage: node scripts/api-docs.js          writes docs/api.md
//        node scripts/api-docs.js --check  exits 1 when docs/api.md differs from what lib/ says
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const ts = require('typescript');

const root = path.join(__dirname, '..');
const out = path.join(root, 'docs', 'api.md');

const ENTRIES = [['lowbit', path.join(root, 'lib', 'index.ts')], ['lowbit/llm', path.join(root, 'lib', 'llm', 'index.ts')]];

function generate() {
  const program = ts.createProgram(ENTRIES.map(([, e]) => e), { strict: true, target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.Node16, moduleResolution: ts.ModuleResolutionKind.Node16, types: ['node'] });
  const checker = program.getTypeChecker();
  const flags = ts.TypeFormatFlags.NoTruncation | ts.TypeFormatFlags.UseAliasDefinedOutsideCurrentScope;

  /** @param {ts.Symbol} s */
  const doc = (s) => {
    const text = ts.displayPartsToString(s.getDocumentationComment(checker)).trim();
    const tags = s.getJsDocTags(checker).filter((t) => t.name !== 'internal')
      .map((t) => `*@${t.name}*${t.text ? ` ${ts.displayPartsToString(t.text)}` : ''}`);
    return [text, ...tags].filter(Boolean).join('\n\n');
  };
  /** @param {ts.Symbol} s */
  const internal = (s) => s.getJsDocTags(checker).some((t) => t.name === 'internal');
  /** @param {ts.Symbol} s */
  const resolve = (s) => (s.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(s) : s);

  let md = '# API reference\n\nGenerated from the TSDoc comments of `lib/` by `node scripts/api-docs.js` (`npm test` checks that it\nis current). The guides: [formats](formats.md), [matmul](matmul.md), [calibration](calibration.md),\n[files](files.md), [planner](planner.md), [lifetimes](lifetimes.md), [running a model](llm.md).\n';
  for (const [name, entry] of ENTRIES) md += moduleSections(program, checker, flags, name, entry, doc, internal, resolve);
  // Type arguments every typed array carries in TypeScript 5.7+, and TSDoc links, read as plain code.
  return md.replace(/<ArrayBufferLike>/g, '').replace(/\{@link ([^}\s]+) ?\}/g, '`$1`');
}

/**
 * The sections of one entry point: `lowbit`'s under plain titles, the others' titled with the module.
 * @param {ts.Program} program @param {ts.TypeChecker} checker @param {ts.TypeFormatFlags} flags
 * @param {string} moduleName @param {string} entry @param {(s: ts.Symbol) => string} doc
 * @param {(s: ts.Symbol) => boolean} internal @param {(s: ts.Symbol) => ts.Symbol} resolve
 */
function moduleSections(program, checker, flags, moduleName, entry, doc, internal, resolve) {
  const file = /** @type {ts.SourceFile} */ (program.getSourceFile(entry));
  const moduleSymbol = /** @type {ts.Symbol} */ (checker.getSymbolAtLocation(file));
  /** @type {Record<string, string[]>} */
  const sections = { Functions: [], Classes: [], 'Interfaces and types': [], Constants: [] };
  const exports = checker.getExportsOfModule(moduleSymbol).slice().sort((a, b) => a.name.localeCompare(b.name));
  for (const exported of exports) {
    const s = resolve(exported);
    const decl = s.declarations?.[0];
    if (!decl) continue;
    const name = exported.name;
    const parts = [`### ${name}`];
    if (s.flags & ts.SymbolFlags.Function) {
      const type = checker.getTypeOfSymbolAtLocation(s, decl);
      for (const sig of type.getCallSignatures()) {
        parts.push(`\`${name}${checker.signatureToString(sig, undefined, flags)}\``);
        const d = ts.displayPartsToString(sig.getDocumentationComment(checker)).trim();
        if (d) parts.push(d);
      }
      sections.Functions.push(parts.join('\n\n'));
    } else if (s.flags & ts.SymbolFlags.Class) {
      const d = doc(s);
      if (d) parts.push(d);
      const type = checker.getDeclaredTypeOfSymbol(s);
      for (const m of checker.getPropertiesOfType(type)) {
        const md = m.valueDeclaration ?? m.declarations?.[0];
        if (!md || internal(m) || m.name.startsWith('#')) continue;
        const modifiers = ts.getCombinedModifierFlags(/** @type {ts.Declaration} */ (md));
        if (modifiers & (ts.ModifierFlags.Private | ts.ModifierFlags.Protected)) continue;
        const mt = checker.getTypeOfSymbolAtLocation(m, md);
        const sigs = mt.getCallSignatures();
        const member = m.name.startsWith('__@') ? `[Symbol.${m.name.slice(3).replace(/@\d+$/, '')}]` : m.name;
        const sig = sigs.length && ts.isMethodDeclaration(md)
          ? sigs.map((g) => `\`${member}${checker.signatureToString(g, undefined, flags)}\``).join(' ')
          : `\`${member}: ${checker.typeToString(mt, undefined, flags)}\``;
        const md2 = doc(m);
        parts.push(`- ${sig}${md2 ? `: ${md2.replace(/\n+/g, ' ')}` : ''}`);
      }
      sections.Classes.push(parts.join('\n\n').replace(/\n\n- /g, '\n- ').replace(/(### [^\n]+\n\n[^-][^\n]*(?:\n[^-][^\n]*)*)\n- /, '$1\n\n- '));
    } else if (s.flags & (ts.SymbolFlags.Interface | ts.SymbolFlags.TypeAlias)) {
      const d = doc(s);
      if (d) parts.push(d);
      if (s.flags & ts.SymbolFlags.TypeAlias) {
        const text = /** @type {ts.TypeAliasDeclaration} */ (decl).type.getText().replace(/\s+/g, ' ');
        parts.push(`\`type ${name} = ${text}\``);
      } else {
        const type = checker.getDeclaredTypeOfSymbol(s);
        const members = [];
        for (const m of checker.getPropertiesOfType(type)) {
          const md = m.valueDeclaration ?? m.declarations?.[0];
          if (!md) continue;
          const optional = m.flags & ts.SymbolFlags.Optional ? '?' : '';
          const member = m.name.startsWith('__@') ? `[Symbol.${m.name.slice(3).replace(/@\d+$/, '')}]` : m.name;
          const mt = checker.getTypeOfSymbolAtLocation(m, md);
          const md2 = doc(m);
          members.push(`- \`${member}${optional}: ${checker.typeToString(mt, undefined, flags)}\`${md2 ? `: ${md2.replace(/\n+/g, ' ')}` : ''}`);
        }
        if (members.length) parts.push(members.join('\n'));
      }
      sections['Interfaces and types'].push(parts.join('\n\n'));
    } else if (s.flags & ts.SymbolFlags.Variable) {
      const d = doc(s);
      if (d) parts.push(d);
      parts.push(`\`${name}: ${checker.typeToString(checker.getTypeOfSymbolAtLocation(s, decl), undefined, flags)}\``);
      sections.Constants.push(parts.join('\n\n'));
    }
  }
  let md = '';
  for (const [title, items] of Object.entries(sections)) {
    if (items.length) md += `\n## ${moduleName === 'lowbit' ? title : `${title}: \`${moduleName}\``}\n\n${items.join('\n\n')}\n`;
  }
  return md;
}

if (require.main === module) {
  const md = generate();
  if (process.argv.includes('--check')) {
    const current = fs.existsSync(out) ? fs.readFileSync(out, 'utf8') : '';
    if (current !== md) {
      console.error('docs/api.md is not what lib/ says: run `node scripts/api-docs.js`');
      process.exit(1);
    }
  } else {
    fs.writeFileSync(out, md);
  }
}

module.exports = { generate };
