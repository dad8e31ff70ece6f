// Package-time checks of infra/config.yml: a wrong setting fails `serverless package` /
// `deploy` with one message naming every problem, instead of the first run at 03:00.
// Used as ${file(infra/checks.js)} (custom.checks in serverless.yml); returns 'ok'.
//
// One source of truth: the settings are validated by the same Python code every handler
// runs at start (`python -m rds_backup.settings --check`, rds_backup/settings.py), fed the
// environment serverless.yml gives the functions (provider.environment, resolved; where it
// holds a CloudFormation reference, the value it will have). Anything the handlers would
// refuse fails packaging with the handlers' own message. This file adds only what no
// handler sees: the infrastructure switches and the export role's origin.
// Then, for the main service only, the capacity planner (rds_backup/model/capacity.py) runs with
// the resolved settings and its warnings (snapshot quota, export hours) are printed; they
// never fail packaging.

const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');

const STACK_NAME = /^[a-z](?!.*--)[a-z0-9-]{0,30}[a-z0-9]$/;
// Booleans that shape IAM conditions must be exactly true/false (Python accepts yes/1/on).
const SWITCHES = ['storeToSourceS3', 'deleteOldExports', 'createExportRole', 'createBuckets'];

module.exports = async ({ resolveConfigurationProperty }) => {
  const c = await resolveConfigurationProperty(['custom', 'config']);
  const mainService = Boolean(await resolveConfigurationProperty(['custom', 'stackName']));
  const stackName =
    (await resolveConfigurationProperty(['custom', 'stackName'])) ||
    (await resolveConfigurationProperty(['custom', 'mainStackName']));
  const environment = mainService
    ? await resolveConfigurationProperty(['provider', 'environment'])
    : null;
  const problems = [];
  for (const name of SWITCHES) {
    if (!['true', 'false'].includes(String(c[name]))) {
      problems.push(`${name} must be exactly true or false, got ${JSON.stringify(c[name])}`);
    }
  }
  if (!STACK_NAME.test(stackName)) {
    problems.push(
      `stack name ${stackName} (service-stage) must be lower-case letters, digits and single ` +
        'hyphens, at most 32 characters: it is the rds-backup:stack tag value'
    );
  }
  if (!c.exportRoleArn && c.createExportRole !== 'true') {
    problems.push('no RDS export role: set exportRoleArn (EXPORT_ROLE_ARN) or createExportRole=true');
  }
  const env = functionEnvironment(c, stackName, environment);
  const invalid = validateSettings(env);
  if (invalid || problems.length) {
    const parts = [];
    if (invalid) parts.push(invalid);
    if (problems.length) {
      parts.push(`rds-backup stack configuration is invalid:\n  - ${problems.join('\n  - ')}`);
    }
    const error = new Error(parts.join('\n'));
    error.stack = error.message; // the message is the whole story; no JS stack trace
    throw error;
  }
  if (mainService) checkCapacity(env);
  return 'ok';
};

const ROOT = path.resolve(__dirname, '..');
const CHECK_TIMEOUT_MS = 20000;
const WARNING_PREFIX = 'rds-backup capacity warning: '; // rds_backup/model/capacity.py
// Every setting's environment name (infra/config.yml: env:NAME).
const CONFIG_ENV_NAMES = [
  ...fs.readFileSync(path.join(__dirname, 'config.yml'), 'utf8').matchAll(/env:([A-Z0-9_]+)/g),
].map((match) => match[1]);

// infra/config.yml's keys are the README's names in camelCase: sourceRegion -> SOURCE_REGION,
// storeToSourceS3 -> STORE_TO_SOURCE_S3 (as serverless.yml's provider.environment maps them).
const envName = (key) => key.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase();

// The project's interpreter: $PYTHON, else .venv beside this file's service, else the .venv
// of the checkout whose node_modules this (build) copy links to.
function python() {
  if (process.env.PYTHON) return process.env.PYTHON;
  const candidates = [path.join(ROOT, '.venv', 'bin', 'python')];
  try {
    const modules = fs.realpathSync(path.join(ROOT, 'node_modules'));
    candidates.push(path.join(path.dirname(modules), '.venv', 'bin', 'python'));
  } catch {
    // no node_modules: nothing more to try
  }
  return candidates.find((candidate) => fs.existsSync(candidate)) || candidates[0];
}

function warn(text) {
  try {
    // osls' own logger (the one its warnings use); console.warn when it cannot be loaded.
    require('osls/lib/utils/serverless-utils/log').log.warning(text);
  } catch {
    console.warn(`Warning: ${text}`);
  }
}

// What the functions' environment will be: provider.environment as serverless.yml resolves
// it (main service), else every infra/config.yml setting under its README name (the
// target-region stack has no functions; its settings are the same ones). A CloudFormation
// reference stands for what it will resolve to: the export role the stack creates, and
// the idempotency table (any name: it is only required to be set).
function functionEnvironment(c, stackName, environment) {
  const env = {};
  for (const [key, value] of Object.entries(c || {})) {
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') {
      env[envName(key)] = String(value);
    }
  }
  env.STACK_NAME = stackName;
  env.EXPORT_ROLE_ARN = c.exportRoleArn || placeholderRole(stackName);
  env.IDEMPOTENCY_TABLE = `${stackName}-idempotency`;
  for (const [key, value] of Object.entries(environment || {})) {
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') {
      env[key] = String(value);
    }
  }
  return env;
}

// The stack's own export role (infra/iam.js exportRoleArn) in a placeholder account: the
// account is only known at deploy time, and the settings check only its shape.
const placeholderRole = (stackName) => `arn:aws:iam::000000000000:role/${stackName}-rds-export`;

// Run the handlers' validation on `env`; return its message (every problem), or null.
function validateSettings(env) {
  const interpreter = python();
  const result = spawnSync(interpreter, ['-m', 'rds_backup.settings', '--check'], {
    cwd: ROOT,
    env: { ...cleanEnvironment(), ...env },
    encoding: 'utf8',
    timeout: CHECK_TIMEOUT_MS,
  });
  if (result.error || (result.status !== 0 && result.status !== 1)) {
    const why = result.error ? result.error.message : (result.stderr || '').trim().slice(-500);
    return (
      `rds-backup configuration could not be checked: ${interpreter} -m rds_backup.settings ` +
      `--check failed (${why}); run ./scripts/setup or set PYTHON to the project's interpreter`
    );
  }
  return result.status === 1 ? (result.stderr || '').trim() : null;
}

// This shell's environment without any setting (the ones given are those in `env`), so a
// variable osls did not resolve cannot leak into the check.
function cleanEnvironment() {
  const settings = new Set(CONFIG_ENV_NAMES);
  return Object.fromEntries(Object.entries(process.env).filter(([key]) => !settings.has(key)));
}

function checkCapacity(env) {
  const interpreter = python();
  const result = spawnSync(interpreter, ['-m', 'rds_backup.model.capacity'], {
    cwd: ROOT,
    env: { ...cleanEnvironment(), ...env },
    encoding: 'utf8',
    timeout: CHECK_TIMEOUT_MS,
  });
  if (result.error || result.status !== 0) {
    const why = result.error ? result.error.message : (result.stderr || '').trim().slice(-500);
    warn(`rds-backup capacity not checked (${interpreter} -m rds_backup.model.capacity: ${why})`);
    return;
  }
  for (const line of (result.stderr || '').split('\n')) {
    if (line.startsWith(WARNING_PREFIX)) warn(line.trim());
  }
}

module.exports.functionEnvironment = functionEnvironment;
module.exports.validateSettings = validateSettings;
