'use strict';

// The vault stack's derived settings (string logic the YAML variables cannot do): its region
// (VAULT_REGION, else TARGET_REGION: where the source's copies are shared from) and its key
// (VAULT_KMS_KEY_ID, else a dummy-but-valid ARN there, so `serverless package` works with
// nothing set, as infra/config.yml's defaults do). Mirrors rds_backup/vault/settings.py.

const config = async (resolveConfigurationProperty) =>
  resolveConfigurationProperty(['custom', 'config']);

const DUMMY_VAULT_ACCOUNT = '210987654321';

const region = (c) => c.vaultRegion || c.targetRegion;

module.exports = {
  region: async ({ resolveConfigurationProperty }) =>
    region(await config(resolveConfigurationProperty)),
  keyArn: async ({ resolveConfigurationProperty }) => {
    const c = await config(resolveConfigurationProperty);
    return (
      c.vaultKmsKeyId ||
      `arn:aws:kms:${region(c)}:${DUMMY_VAULT_ACCOUNT}:key/00000000-0000-0000-0000-000000000000`
    );
  },
};
