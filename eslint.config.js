// Lint rules, including the architecture's import direction (DESIGN.md "Dependency direction"):
//   core/    imports nothing of the project;
//   config/  imports only core/;
//   edges    (api, queue, crawler, tracing, notifier, store) import core/ and config/ only,
//            except the sanctioned link crawler -> tracing (the guard uses the tracing resolver);
//   daemon/  is the composition root and may import anything; tests/ and bench/ too.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const folders = ['api', 'daemon', 'queue', 'crawler', 'tracing', 'notifier', 'store', 'config', 'core'];

/** import patterns that reach into the given folders, from a sibling folder */
const into = (names) => names.flatMap((n) => [`../${n}/*`, `../../${n}/*`, `../../../${n}/*`, `../${n}`, `../../${n}`]);

const zone = (folder, allowed) => ({
  files: [`${folder}/**/*.ts`],
  ignores: [`${folder}/**/*.test.ts`],
  rules: {
    'no-restricted-imports': ['error', {
      patterns: [{
        group: into(folders.filter((f) => f !== folder && !allowed.includes(f))),
        message: `${folder}/ may import only ${allowed.length ? allowed.join(', ') : 'nothing of the project'} (DESIGN.md dependency direction).`,
      }],
    }],
  },
});

export default tseslint.config(
  { ignores: ['node_modules/**', 'dist/**', 'data/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: 'readonly', console: 'readonly', URL: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', Buffer: 'readonly' } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
    },
  },
  zone('core', []),
  zone('config', ['core']),
  zone('api', ['core', 'config']),
  zone('queue', ['core', 'config']),
  zone('crawler', ['core', 'config', 'tracing']),
  zone('tracing', ['core', 'config']),
  zone('notifier', ['core', 'config']),
  zone('store', ['core', 'config']),
  {
    // Only config/ reads the environment (DESIGN.md house style 5).
    files: ['api/**/*.ts', 'queue/**/*.ts', 'crawler/**/*.ts', 'tracing/**/*.ts', 'notifier/**/*.ts', 'store/**/*.ts', 'core/**/*.ts'],
    ignores: ['**/*.test.ts'],
    rules: {
      'no-restricted-properties': ['error', { object: 'process', property: 'env', message: 'Only config/ reads process.env.' }],
      'no-console': 'error',
    },
  },
  {
    files: ['core/**/*.ts'],
    ignores: ['**/*.test.ts'],
    rules: {
      // core/ is pure: no clock, no randomness, no I/O modules.
      'no-restricted-syntax': ['error',
        { selector: "NewExpression[callee.name='Date'][arguments.length=0]", message: 'core/ takes `now` as an argument.' },
        { selector: "CallExpression[callee.object.name='Date'][callee.property.name='now']", message: 'core/ takes `now` as an argument.' }],
      'no-restricted-properties': ['error',
        { object: 'Math', property: 'random', message: 'core/ takes a random source as an argument.' },
        { object: 'process', property: 'env', message: 'Only config/ reads process.env.' }],
      'no-restricted-imports': ['error', {
        patterns: [{ group: into(folders.filter((f) => f !== 'core')), message: 'core/ imports nothing of the project.' }],
        paths: ['node:fs', 'node:fs/promises', 'node:net', 'node:http', 'node:https', 'node:dns', 'node:child_process', 'fs', 'net', 'http', 'dns']
          .map((name) => ({ name, message: 'core/ does no I/O.' })),
      }],
    },
  },
);
