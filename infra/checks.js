'use strict';

// Package-time checks of infra/config.yml: a wrong setting fails `serverless package` /
// `deploy` with one message naming every problem, instead of the first run at 03:00. The
// handlers validate everything again at start (rds_backup/settings.py); these are the
// problems that would otherwise produce a broken stack.
// Used as ${file(infra/checks.js)} (custom.checks in serverless.yml); returns 'ok'.

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
  return 'ok';
};
