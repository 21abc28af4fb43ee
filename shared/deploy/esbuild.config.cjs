// serverless-esbuild options. The validated configuration file is embedded in every bundle at
// package time (no size limit, unlike Lambda environment variables) and checked again at cold start.
const fs = require('node:fs');
const path = require('node:path');

module.exports = (serverless) => {
  const custom = serverless.service.custom.dbap;
  const configFile = path.resolve(__dirname, '..', '..', custom.configFile);
  const yamlText = fs.readFileSync(configFile, 'utf8');
  return {
    bundle: true,
    minify: false,
    sourcemap: 'linked',
    target: 'node24',
    platform: 'node',
    // The ESM builds of packages that ship both (the AWS SDK's dist-es, found through "module"):
    // esbuild's node default (main first) takes the CommonJS dist-cjs, which bundles larger and
    // imports slower (`npx tsx shared/cli/bundle-sizes.ts` after `osls package` measures both).
    mainFields: ['module', 'main'],
    format: 'esm',
    outputFileExtension: '.mjs',
    // Some dependencies (pg) are CommonJS and call require(); give ESM bundles a require.
    banner: {
      js: "import { createRequire as __dbapCreateRequire } from 'node:module'; const require = __dbapCreateRequire(import.meta.url);",
    },
    // The SDK is bundled (not taken from the runtime) so the deployed code runs the versions tested.
    // pg-native is an optional native addon that pg loads only when asked to: left out entirely
    // (`exclude` marks it external and keeps the packager from installing it).
    external: [],
    exclude: ['pg-native'],
    define: { __DBAP_CONFIG_YAML__: JSON.stringify(yamlText) },
    packager: 'npm',
    // Concurrent builds in one tree (the package test while someone packages) must not share
    // serverless-esbuild's work folder: DBAP_ESBUILD_WORK_FOLDER (under .esbuild/, git-ignored).
    ...(process.env.DBAP_ESBUILD_WORK_FOLDER
      ? { outputWorkFolder: process.env.DBAP_ESBUILD_WORK_FOLDER }
      : {}),
    // DBAP_ESBUILD_SKIP_BUILD=1 (the package test only): no bundling; serverless-esbuild's
    // skipBuild takes the function zips already in the --package folder, built by an earlier
    // package of the same code, and the template is generated anew for this configuration.
    ...(process.env.DBAP_ESBUILD_SKIP_BUILD === '1' ? { skipBuild: true } : {}),
  };
};
