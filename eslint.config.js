// Lint rules that keep the process boundaries of ARCHITECTURE.md:
// - engine, shared and cli never import electron (they run under plain Node);
// - only src/engine/runtime imports onnxruntime-node;
// - shared is pure TypeScript (no node:, no electron, no DOM);
// - main and engine get no DOM globals (enforced by tsconfig.node.json's lib as well).
import tseslint from 'typescript-eslint';
import svelte from 'eslint-plugin-svelte';
import svelteParser from 'svelte-eslint-parser';

const noElectron = { name: 'electron', message: 'engine, shared and cli run under plain Node: no electron imports.' };
const noOrt = { name: 'onnxruntime-node', message: 'only src/engine/runtime may import onnxruntime-node.' };
const nodeBuiltins = ['node:*', 'fs', 'path', 'os', 'child_process', 'crypto', 'worker_threads', 'url', 'util', 'stream'];

export default tseslint.config(
  { ignores: ['node_modules/**', 'out/**', 'dist/**', '.tmp/**', 'resources/**'] },
  ...tseslint.configs.recommended,
  ...svelte.configs['flat/recommended'],
  {
    files: ['**/*.svelte', '**/*.svelte.ts'],
    languageOptions: { parser: svelteParser, parserOptions: { parser: tseslint.parser } },
  },
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
  {
    files: ['src/**/*.ts', 'src/**/*.svelte', 'test/**/*.ts', 'bench/**/*.ts'],
    ignores: ['src/engine/runtime/**'],
    rules: { 'no-restricted-imports': ['error', { paths: [noOrt] }] },
  },
  {
    files: ['src/engine/**/*.ts', 'src/cli/**/*.ts'],
    ignores: ['src/engine/runtime/**'],
    rules: { 'no-restricted-imports': ['error', { paths: [noElectron, noOrt] }] },
  },
  {
    files: ['src/engine/runtime/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { paths: [noElectron] }] },
  },
  {
    files: ['src/shared/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { paths: [noElectron, noOrt], patterns: [{ group: nodeBuiltins, message: 'shared is pure TypeScript.' }] }],
    },
  },
  {
    files: ['src/renderer/**/*.ts', 'src/renderer/**/*.svelte'],
    rules: {
      'no-restricted-imports': ['error', { paths: [noElectron, noOrt], patterns: [{ group: nodeBuiltins, message: 'the renderer reaches Node only through the preload api.' }] }],
    },
  },
  {
    files: ['src/main/**/*.ts', 'src/engine/**/*.ts'],
    rules: {
      'no-restricted-globals': ['error', 'window', 'document', 'navigator', 'HTMLElement', 'localStorage'],
    },
  },
);
