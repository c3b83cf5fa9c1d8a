import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', '.flowquest/**', 'coverage/**', 'test-artifacts/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // Tests read untyped JSON answers.
    files: ['test/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  {
    // ServiceNow server-side scripts: Rhino in ES5 mode, plain scripts with the Glide globals.
    files: ['servicenow/**/*.js'],
    languageOptions: {
      sourceType: 'script',
      globals: { Class: 'readonly', gs: 'readonly', GlideDateTime: 'readonly', GlideCertificateEncryption: 'readonly', sn_ws: 'readonly' },
    },
    rules: {
      // notify(current, previous) keeps the business-rule signature; ES5 has no optional catch binding.
      '@typescript-eslint/no-unused-vars': ['error', { args: 'none', caughtErrors: 'none' }],
      'no-restricted-syntax': [
        'error',
        { selector: "VariableDeclaration[kind!='var']", message: 'ES5 (Rhino): var only.' },
        { selector: 'ArrowFunctionExpression', message: 'ES5 (Rhino): no arrow functions.' },
        { selector: 'TemplateLiteral', message: 'ES5 (Rhino): no template strings.' },
        { selector: 'ClassDeclaration, ClassExpression', message: 'ES5 (Rhino): use Class.create().' },
        { selector: 'ForOfStatement, SpreadElement, RestElement, ObjectPattern, ArrayPattern, AssignmentPattern', message: 'ES5 (Rhino): no ES2015 syntax.' },
      ],
    },
  },
  {
    // Business rules run with the record in `current`/`previous` and the Script Include in scope.
    files: ['servicenow/business-rules/**/*.js'],
    languageOptions: { globals: { current: 'readonly', previous: 'readonly', FlowQuestWebhook: 'readonly' } },
  },
  {
    files: ['**/*.js', '**/*.mjs', '**/*.cjs'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly' } },
  },
);
