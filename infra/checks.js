'use strict';

// Package-time checks of infra/config.yml: a wrong setting fails `serverless package` /
// `deploy` with one message naming every problem, instead of the first run at 03:00. The
// handlers validate everything again at start (rds_backup/settings.py); these are the
// problems that would otherwise produce a broken stack.
// Used as ${file(infra/checks.js)} (custom.checks in serverless.yml); returns 'ok'.
// Then, for the main service only, the capacity planner (rds_backup/capacity.py) runs with
// the resolved settings and its warnings (snapshot quota, export hours) are printed; they
// never fail packaging.

const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');

const STACK_NAME = /^[a-z](?!.*--)[a-z0-9-]{0,30}[a-z0-9]$/;
const SWITCHES = ['storeToSourceS3', 'deleteOldExports', 'createExportRole', 'createBuckets'];

module.exports = async ({ resolveConfigurationProperty }) => {
  const c = await resolveConfigurationProperty(['custom', 'config']);
  const stackName =
    (await resolveConfigurationProperty(['custom', 'stackName'])) ||
    (await resolveConfigurationProperty(['custom', 'mainStackName']));
  const problems = [];
  if (c.sourceRegion === c.targetRegion) {
    problems.push(`TARGET_REGION must differ from SOURCE_REGION (both are ${c.sourceRegion})`);
  }
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
  if (!String(c.exportS3Prefix).replace(/\//g, '')) {
    problems.push('EXPORT_S3_PREFIX must not be empty: IAM scopes the exports to it');
  }
  if (problems.length) {
    const error = new Error(`rds-backup configuration is invalid:\n  - ${problems.join('\n  - ')}`);
    error.stack = error.message; // the message is the whole story; no JS stack trace
    throw error;
  }
  if (c && (await resolveConfigurationProperty(['custom', 'stackName']))) {
    checkCapacity(c, stackName);
  }
  return 'ok';
};

const ROOT = path.resolve(__dirname, '..');
const CAPACITY_TIMEOUT_MS = 10000;
const WARNING_PREFIX = 'rds-backup capacity warning: '; // rds_backup/capacity.py
// Planning only needs a valid ARN when the stack creates the export role itself.
const PLACEHOLDER_ROLE = 'arn:aws:iam::000000000000:role/rds-backup-export';

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

function checkCapacity(c, stackName) {
  const env = { ...process.env };
  for (const [key, value] of Object.entries(c)) {
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') {
      env[envName(key)] = String(value);
    }
  }
  env.EXPORT_ROLE_ARN = c.exportRoleArn || PLACEHOLDER_ROLE;
  env.STACK_NAME = stackName;
  const interpreter = python();
  const result = spawnSync(interpreter, ['-m', 'rds_backup.capacity'], {
    cwd: ROOT,
    env,
    encoding: 'utf8',
    timeout: CAPACITY_TIMEOUT_MS,
  });
  if (result.error || result.status !== 0) {
    const why = result.error ? result.error.message : (result.stderr || '').trim().slice(-500);
    warn(`rds-backup capacity not checked (${interpreter} -m rds_backup.capacity: ${why})`);
    return;
  }
  for (const line of (result.stderr || '').split('\n')) {
    if (line.startsWith(WARNING_PREFIX)) warn(line.trim());
  }
}
