'use strict';

// IAM pieces that need a little string logic the YAML variables cannot do: one ARN per
// configured database, and the KMS key of each region as IAM must name it (a key id, a
// multi-Region key id resolved to the region's replica, an ARN, or an alias). Mirrors
// rds_backup/settings.py (Settings.keys). Everything returned is CloudFormation with
// pseudo parameters (AWS::Partition, AWS::AccountId), so packaging needs no credentials.
//
// Used as ${file(infra/iam.js):<name>}; each export receives the resolver helpers.

const config = async (resolveConfigurationProperty) =>
  resolveConfigurationProperty(['custom', 'config']);

const arnPattern = /^arn:aws[a-z-]*:kms:([a-z0-9-]+):(\d{12}):(key|alias)\/(.+)$/;

function keyInRegion(key, region) {
  const arn = arnPattern.exec(key);
  if (!arn) return key.startsWith('mrk-') ? key : null;
  if (arn[3] === 'key' && arn[4].startsWith('mrk-')) {
    return key.replace(`:kms:${arn[1]}:`, `:kms:${region}:`);
  }
  return arn[1] === region ? key : null;
}

function regionKeys(c) {
  return {
    source: c.sourceKmsKeyId || keyInRegion(c.kmsKeyId, c.sourceRegion),
    target: c.targetKmsKeyId || keyInRegion(c.kmsKeyId, c.targetRegion) || c.kmsKeyId,
  };
}

// How IAM names a key: its ARN (a multi-Region key id as the region's replica), or, for an
// alias, every key of the account in that region that carries the alias.
function keyResource(key, region) {
  const arn = arnPattern.exec(key);
  const aliasName =
    arn && arn[3] === 'alias' ? `alias/${arn[4]}` : key.startsWith('alias/') ? key : null;
  if (aliasName) {
    return {
      resource: { 'Fn::Sub': `arn:\${AWS::Partition}:kms:${region}:\${AWS::AccountId}:key/*` },
      condition: { 'ForAnyValue:StringEquals': { 'kms:ResourceAliases': aliasName } },
    };
  }
  if (arn) return { resource: key, condition: null };
  return {
    resource: { 'Fn::Sub': `arn:\${AWS::Partition}:kms:${region}:\${AWS::AccountId}:key/${key}` },
    condition: null,
  };
}

function statement(actions, { resource, condition }, extraCondition) {
  const result = { Effect: 'Allow', Action: actions, Resource: resource };
  if (condition || extraCondition) result.Condition = { ...(extraCondition || {}), ...(condition || {}) };
  return result;
}

// RDS uses the key through grants it creates on the caller's behalf (CopyDBSnapshot,
// StartExportTask): allow CreateGrant only for AWS resources, and DescribeKey.
function keyStatements(key, region) {
  const where = keyResource(key, region);
  return [
    statement(['kms:DescribeKey'], where),
    statement(['kms:CreateGrant'], where, { Bool: { 'kms:GrantIsForAWSResource': 'true' } }),
  ];
}

// What the RDS export role does with the keys while writing Parquet to S3.
const EXPORT_ROLE_KMS_ACTIONS = [
  'kms:Encrypt',
  'kms:Decrypt',
  'kms:ReEncrypt*',
  'kms:GenerateDataKey*',
  'kms:CreateGrant',
  'kms:RetireGrant',
  'kms:DescribeKey',
];

// A snapshot id we derive: <prefix>-<db>-<YYYYMMDD-HHMM> (rds_backup/model/naming.py). IAM
// resource ARNs take `?` for exactly one character ("IAM JSON policy elements: Resource",
// wildcards), so the writes that create and tag snapshots match only that shape: an
// operator's `<our id>-keep` copy (tags copied) cannot be stamped with our stack tag.
const derivedSnapshot = (c) => `${c.snapshotPrefix}-*-????????-????`;

// A comma list setting as a list (blanks dropped).
const list = (value) =>
  String(value || '')
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean);

// DB_KMS_KEY_IDS as a list.
const dbKeys = (c) => list(c.dbKmsKeyIds);

// EXPORT_S3_PREFIX without leading, trailing or doubled slashes: the same string
// rds_backup/settings.py normalise_s3_prefix gives the code (an empty one is refused there).
const normaliseS3Prefix = (value) =>
  String(value)
    .split('/')
    .filter(Boolean)
    .join('/');

// DB_IDENTIFIER's names, lowered and de-duplicated. RDS stores identifiers in lower case
// (db:Orders is db:orders in ARNs) and IAM compares ARNs case-sensitively.
const identifiers = (c) => [
  ...new Set(
    String(c.dbIdentifier || '')
      .split(',')
      .map((id) => id.trim().toLowerCase())
      .filter(Boolean)
  ),
];

// An RDS resource of the source region (its ARN, resolved by CloudFormation).
const sourceRds = (c, what) => ({
  'Fn::Sub': `arn:\${AWS::Partition}:rds:${c.sourceRegion}:\${AWS::AccountId}:${what}`,
});

// A re-driven export that found every export slot busy is remembered on the snapshot with the
// tag rds-backup:retry-export (rds_backup/limits/fill.py, _remember_redrives): whichever
// function fills the export slots of that region tags it (export_snapshot; copy_snapshot
// and reconcile too), only that key, only on snapshots this stack made.
async function markRedrivenExports(resolveConfigurationProperty, region) {
  const c = await config(resolveConfigurationProperty);
  const stackName = await resolveConfigurationProperty(['custom', 'stackName']);
  return {
    Sid: `MarkRedriven${region === 'source' ? 'Source' : 'Target'}Exports`,
    Effect: 'Allow',
    Action: ['rds:AddTagsToResource'],
    Resource: {
      'Fn::Sub': `arn:\${AWS::Partition}:rds:${region === 'source' ? c.sourceRegion : c.targetRegion}:\${AWS::AccountId}:snapshot:${derivedSnapshot(c)}`,
    },
    Condition: {
      StringEquals: { 'aws:ResourceTag/rds-backup:stack': stackName },
      'ForAllValues:StringEquals': { 'aws:TagKeys': ['rds-backup:retry-export'] },
    },
  };
}

module.exports = {
  // share_vault reads the key of the copies it shares (AWS managed? does its policy allow
  // the vault account?): the target-region key, as IAM names it.
  shareVaultKeyRead: async ({ resolveConfigurationProperty }) => {
    const c = await config(resolveConfigurationProperty);
    return {
      Sid: 'ReadCopyKey',
      ...statement(['kms:DescribeKey', 'kms:GetKeyPolicy'], keyResource(regionKeys(c).target, c.targetRegion)),
    };
  },

  // share_vault's PutEvents on the vault's bus (infra/functions/share_vault.yml). Used only
  // under the VaultEnabled condition; without a vault, an ARN no account has keeps the
  // template valid.
  vaultBusArn: async ({ resolveConfigurationProperty }) => {
    const c = await config(resolveConfigurationProperty);
    return c.vaultEventBusArn || 'arn:aws:events:us-east-1:000000000000:event-bus/no-vault';
  },

  markRedrivenSourceExports: async ({ resolveConfigurationProperty }) =>
    markRedrivenExports(resolveConfigurationProperty, 'source'),
  markRedrivenTargetExports: async ({ resolveConfigurationProperty }) =>
    markRedrivenExports(resolveConfigurationProperty, 'target'),

  // What CreateDBSnapshot (with tags) is authorized on: db:<id> for every DB_IDENTIFIER
  // (comma list) and snapshot:<prefix>-* in the source region.
  snapshotResources: async ({ resolveConfigurationProperty }) => {
    const c = await config(resolveConfigurationProperty);
    return [
      sourceRds(c, `snapshot:${derivedSnapshot(c)}`),
      ...identifiers(c).map((id) => sourceRds(c, `db:${id}`)),
    ];
  },

  // What CreateDBClusterSnapshot is authorized on by name: cluster:<id> for every
  // DB_IDENTIFIER (a name may be an instance or a cluster; resources/clusters.yml adds the
  // new cluster snapshot's own derived-shaped ARN).
  // With no names (databases chosen by DB_SELECT_TAG only) the one resource is an identifier
  // RDS refuses (two consecutive hyphens), so the statement allows nothing.
  clusterResources: async ({ resolveConfigurationProperty }) => {
    const c = await config(resolveConfigurationProperty);
    const names = identifiers(c);
    return (names.length ? names : ['none--named']).map((id) => sourceRds(c, `cluster:${id}`));
  },

  // DB_SELECT_TAG=key=value: a snapshot of any instance or cluster of the source region that
  // carries the tag, checked by IAM on the database (RDS User Guide, "Specifying conditions:
  // Using custom tags": rds:db-tag applies to DB instances, rds:cluster-tag to DB clusters).
  // The new snapshot itself is allowed by snapshotResources / resources/clusters.yml. The
  // cluster statement also requires our stack tag on create, as every cluster snapshot
  // statement does. Attached only when the tag is set (condition SelectsByTag); otherwise
  // a harmless placeholder.
  taggedSnapshotStatements: async ({ resolveConfigurationProperty }) => {
    const c = await config(resolveConfigurationProperty);
    const stackName = await resolveConfigurationProperty(['custom', 'stackName']);
    const [key, ...rest] = String(c.dbSelectTag || 'rds-backup:unset=').split('=');
    return [
      {
        Sid: 'SnapshotTaggedInstances',
        Effect: 'Allow',
        Action: ['rds:CreateDBSnapshot'],
        Resource: sourceRds(c, 'db:*'),
        Condition: { StringEquals: { [`rds:db-tag/${key.trim()}`]: rest.join('=') } },
      },
      {
        Sid: 'SnapshotTaggedClusters',
        Effect: 'Allow',
        Action: ['rds:CreateDBClusterSnapshot'],
        Resource: sourceRds(c, 'cluster:*'),
        Condition: {
          StringEquals: {
            [`rds:cluster-tag/${key.trim()}`]: rest.join('='),
            'aws:RequestTag/rds-backup:stack': stackName,
          },
        },
      },
    ];
  },

  targetKeyStatements: async ({ resolveConfigurationProperty }) => {
    const c = await config(resolveConfigurationProperty);
    return keyStatements(regionKeys(c).target, c.targetRegion);
  },

  // Only used when STORE_TO_SOURCE_S3=true (a conditional policy); the settings validation
  // refuses that combination without a source key, and so does packaging.
  sourceKeyStatements: async ({ resolveConfigurationProperty }) => {
    const c = await config(resolveConfigurationProperty);
    const key = regionKeys(c).source;
    if (!key) {
      if (c.storeToSourceS3 === 'true') {
        throw new Error(
          'STORE_TO_SOURCE_S3=true needs a KMS key in SOURCE_REGION: set sourceKmsKeyId ' +
            '(SOURCE_KMS_KEY_ID) or use a multi-Region key (mrk-...)'
        );
      }
      // Never attached (the policy's condition is false); a harmless, valid placeholder.
      return keyStatements(regionKeys(c).target, c.targetRegion).slice(0, 1);
    }
    return keyStatements(key, c.sourceRegion);
  },

  // The export role may use the target key and, when there is one, the source key.
  exportRoleKeyStatements: async ({ resolveConfigurationProperty }) => {
    const c = await config(resolveConfigurationProperty);
    const keys = regionKeys(c);
    const statements = [statement(EXPORT_ROLE_KMS_ACTIONS, keyResource(keys.target, c.targetRegion))];
    if (keys.source) {
      statements.push(statement(EXPORT_ROLE_KMS_ACTIONS, keyResource(keys.source, c.sourceRegion)));
    }
    return statements;
  },

  // notify reads the per-table status files of a COMPLETE export (export_tables_info_*.json
  // under <prefix>/<export-id>/, rds_backup/state/export_tables.py): list and get under the export
  // prefix of both buckets, and decrypt them through S3 with the keys the exports used.
  exportStatusStatements: async ({ resolveConfigurationProperty }) => {
    const c = await config(resolveConfigurationProperty);
    const keys = regionKeys(c);
    const prefix = normaliseS3Prefix(c.exportS3Prefix);
    const under = prefix ? `${prefix}/` : '';
    const buckets = [c.sourceBucket, c.targetBucket];
    const bucketArn = (b, path) => ({ 'Fn::Sub': `arn:\${AWS::Partition}:s3:::${b}${path}` });
    const statements = [
      {
        Sid: 'ListExportStatus',
        Effect: 'Allow',
        Action: ['s3:ListBucket'],
        Resource: buckets.map((b) => bucketArn(b, '')),
        Condition: { StringLike: { 's3:prefix': [`${under}*`] } },
      },
      {
        Sid: 'ReadExportStatus',
        Effect: 'Allow',
        Action: ['s3:GetObject'],
        Resource: buckets.map((b) => bucketArn(b, `/${under}*/export_*info_*.json`)),
      },
    ];
    const regions = [[keys.target, c.targetRegion]];
    if (keys.source) regions.push([keys.source, c.sourceRegion]);
    for (const [key, region] of regions) {
      statements.push(
        statement(['kms:Decrypt'], keyResource(key, region), {
          StringEquals: { 'kms:ViaService': `s3.${region}.amazonaws.com` },
        })
      );
    }
    return statements;
  },

  // EXPORT_ROLE_ARN and the iam:PassRole resource: the given role, else the stack's own.
  exportRoleArn: async ({ resolveConfigurationProperty }) => {
    // (Neither given nor created is refused by infra/checks.js.)
    const c = await config(resolveConfigurationProperty);
    if (c.exportRoleArn) return c.exportRoleArn;
    // The name RdsExportRole is created with (infra/resources/export.yml); no GetAtt, so
    // nothing depends on the optional resource.
    const stackName = await resolveConfigurationProperty(['custom', 'stackName']);
    return { 'Fn::Sub': `arn:\${AWS::Partition}:iam::\${AWS::AccountId}:role/${stackName}-rds-export` };
  },

  // The stack creates the export role only when none is given.
  createExportRole: async ({ resolveConfigurationProperty }) => {
    const c = await config(resolveConfigurationProperty);
    return c.exportRoleArn ? 'false' : c.createExportRole;
  },

  exportS3Prefix: async ({ resolveConfigurationProperty }) =>
    normaliseS3Prefix((await config(resolveConfigurationProperty)).exportS3Prefix),

  // The drill probe's network (target-region stack): its VpcConfig when
  // DRILL_PROBE_SUBNET_IDS is set, else false (no VPC: the probe runs outside any), and the
  // managed policy Lambda needs for network interfaces there.
  probeVpc: async ({ resolveConfigurationProperty }) => {
    const c = await config(resolveConfigurationProperty);
    const subnetIds = list(c.drillProbeSubnetIds);
    if (!subnetIds.length) return false;
    return { subnetIds, securityGroupIds: list(c.drillProbeSecurityGroupIds) };
  },
  probeManagedPolicies: async ({ resolveConfigurationProperty }) => {
    const c = await config(resolveConfigurationProperty);
    if (!list(c.drillProbeSubnetIds).length) return [];
    return [
      { 'Fn::Sub': 'arn:${AWS::Partition}:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole' },
    ];
  },

  // 'true' when DB_KMS_KEY_IDS names keys (the HasDbKmsKeys condition).
  hasDbKmsKeys: async ({ resolveConfigurationProperty }) =>
    dbKeys(await config(resolveConfigurationProperty)).length ? 'true' : 'false',

  // The databases' own customer-managed keys (DB_KMS_KEY_IDS, source region): copying an
  // encrypted snapshot makes RDS create a grant on the source key on the caller's behalf,
  // so the copying roles need kms:CreateGrant and kms:DescribeKey on it (RDS User Guide,
  // "Authorizing use of a customer managed key"), only through RDS (kms:ViaService) in
  // either region of the copy, and CreateGrant only for AWS resources.
  dbKeyStatements: async ({ resolveConfigurationProperty }) => {
    const c = await config(resolveConfigurationProperty);
    const keys = dbKeys(c);
    const viaRds = {
      StringEquals: {
        'kms:ViaService': [`rds.${c.sourceRegion}.amazonaws.com`, `rds.${c.targetRegion}.amazonaws.com`],
      },
    };
    if (!keys.length) {
      // Never attached (the policy's HasDbKmsKeys condition is false); a valid placeholder.
      return [statement(['kms:DescribeKey'], keyResource(regionKeys(c).target, c.targetRegion), viaRds)];
    }
    return keys.flatMap((key) => {
      const where = keyResource(key, c.sourceRegion);
      return [
        statement(['kms:DescribeKey'], where, viaRds),
        statement(['kms:CreateGrant'], where, {
          ...viaRds,
          Bool: { 'kms:GrantIsForAWSResource': 'true' },
        }),
      ];
    });
  },

  // What ses:SendEmail is authorized on: the sender's identity and, with
  // SES_CONFIGURATION_SET, that configuration set (SES checks both when one is given).
  sesSendResources: async ({ resolveConfigurationProperty }) => {
    const c = await config(resolveConfigurationProperty);
    const arn = (what) => ({
      'Fn::Sub': `arn:\${AWS::Partition}:ses:${c.sourceRegion}:\${AWS::AccountId}:${what}`,
    });
    const resources = [arn('identity/*')];
    if (c.sesConfigurationSet) resources.push(arn(`configuration-set/${c.sesConfigurationSet}`));
    return resources;
  },

  // The From address SES is allowed to send as: SENDER_EMAIL, else the first ADMIN_EMAIL.
  senderEmail: async ({ resolveConfigurationProperty }) => {
    const c = await config(resolveConfigurationProperty);
    return c.senderEmail || String(c.adminEmail).split(',')[0].trim();
  },
};
