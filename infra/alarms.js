'use strict';

// The dead-man's switch: one CloudWatch alarm per configured database that fires when the
// database has had no successful backup for BACKUP_ALARM_HOURS (default 26 h), so a disabled
// schedule, a broken deployment or a silent account problem still reaches a person.
//
// notify publishes BackupSucceeded (namespace RdsBackup, dimensions service=rds-backup and
// database=<lower-cased id>) when a run of the database succeeds (rds_backup/observability.py).
// Each alarm looks at hourly sums over the last N hours: every hour without a data point is
// missing data, and missing data counts as breaching (TreatMissingData: breaching), so N hours
// without one success is ALARM, including for a database that never reported at all.
// PutMetricAlarm limits Period x EvaluationPeriods to 7 days (604,800 s) for periods of an
// hour or more (CloudWatch API Reference, PutMetricAlarm "Period"): BACKUP_ALARM_HOURS ≤ 168.
//
// Used as ${file(infra/alarms.js):noRecentBackup}; the alarms go to the stack's AlarmTopic.

const HOUR = 3600;
const MAX_HOURS = 168;

function databases(list) {
  const seen = new Set();
  return String(list)
    .split(',')
    .map((db) => db.trim().toLowerCase()) // RDS stores identifiers in lower case
    .filter((db) => db && !seen.has(db) && seen.add(db));
}

function logicalId(db, index) {
  const words = db.split(/[^a-z0-9]+/).filter(Boolean);
  const name = words.map((w) => w[0].toUpperCase() + w.slice(1)).join('');
  return `NoRecentBackup${index + 1}${name}`.slice(0, 255);
}

function alarms(c, stackName) {
  const hours = Number(c.backupAlarmHours);
  if (!Number.isInteger(hours) || hours < 2 || hours > MAX_HOURS) {
    throw new Error(
      `BACKUP_ALARM_HOURS: ${c.backupAlarmHours} is not a whole number of hours from 2 to ${MAX_HOURS}`
    );
  }
  const resources = {};
  databases(c.dbIdentifier).forEach((db, index) => {
    resources[logicalId(db, index)] = {
      Type: 'AWS::CloudWatch::Alarm',
      Properties: {
        AlarmName: `${stackName}-no-backup-${db}`,
        AlarmDescription:
          `No successful backup of ${db} for ${hours} h (BACKUP_ALARM_HOURS). The nightly ` +
          'schedule may be disabled, the stack broken, or every run of this database failed ' +
          'without an email: run rds-backup status and read the handlers\' logs.',
        Namespace: 'RdsBackup',
        MetricName: 'BackupSucceeded',
        Dimensions: [
          { Name: 'service', Value: 'rds-backup' },
          { Name: 'database', Value: db },
        ],
        Statistic: 'Sum',
        Period: HOUR,
        EvaluationPeriods: hours,
        DatapointsToAlarm: hours,
        Threshold: 1,
        ComparisonOperator: 'LessThanThreshold',
        TreatMissingData: 'breaching',
        AlarmActions: [{ Ref: 'AlarmTopic' }],
        OKActions: [{ Ref: 'AlarmTopic' }],
      },
    };
  });
  return { Resources: resources };
}

// Restore drills (rds_backup/drills/coverage.py): start_drill reports daily how many days ago
// each selected database last passed a drill (DaysSinceSuccessfulDrill), and how many have
// none within twice DRILL_EVERY_DAYS (DatabasesWithoutRecentDrill). A gauge with daily
// periods, so the window is not bound by the 7 days a sum over hours may span: one alarm per
// named database on its age, and one for the whole fleet (tag-selected databases included).
// Missing data (start_drill did not run for two days) counts as breaching. Made only when
// drills are on at packaging (DRILL_SUBNET_GROUP or RESTORE_SUBNET_GROUP set).
const DAY = 86400;

function drillAlarms(c, stackName) {
  const every = Number(c.drillEveryDays);
  if (!Number.isInteger(every) || every < 1 || every > 90) {
    throw new Error(`DRILL_EVERY_DAYS: ${c.drillEveryDays} is not a whole number of days from 1 to 90`);
  }
  if (!String(c.drillSubnetGroup || c.restoreSubnetGroup || '').trim()) return { Resources: {} };
  const limit = 2 * every;
  const base = {
    Namespace: 'RdsBackup',
    Statistic: 'Maximum',
    Period: DAY,
    EvaluationPeriods: 2,
    DatapointsToAlarm: 1,
    ComparisonOperator: 'GreaterThanThreshold',
    TreatMissingData: 'breaching',
    AlarmActions: [{ Ref: 'AlarmTopic' }],
    OKActions: [{ Ref: 'AlarmTopic' }],
  };
  const resources = {
    NoRecentDrillInTheFleet: {
      Type: 'AWS::CloudWatch::Alarm',
      Properties: {
        ...base,
        AlarmName: `${stackName}-no-drill-fleet`,
        AlarmDescription:
          `A selected database has no passed restore drill for ${limit} days (twice ` +
          'DRILL_EVERY_DAYS), or start_drill stopped reporting: run rds-backup status and read ' +
          'the drill emails.',
        MetricName: 'DatabasesWithoutRecentDrill',
        Dimensions: [{ Name: 'service', Value: 'rds-backup' }],
        Threshold: 0,
      },
    },
  };
  databases(c.dbIdentifier).forEach((db, index) => {
    resources[logicalId(db, index).replace('NoRecentBackup', 'NoRecentDrill')] = {
      Type: 'AWS::CloudWatch::Alarm',
      Properties: {
        ...base,
        AlarmName: `${stackName}-no-drill-${db}`,
        AlarmDescription:
          `No passed restore drill of ${db} for ${limit} days (twice DRILL_EVERY_DAYS): its ` +
          'backups are not proven to restore. Read its last drill email.',
        MetricName: 'DaysSinceSuccessfulDrill',
        Dimensions: [
          { Name: 'service', Value: 'rds-backup' },
          { Name: 'database', Value: db },
        ],
        Threshold: limit,
      },
    };
  });
  return { Resources: resources };
}

// The fleet's dead-man's switch, made whatever selects the databases (DB_IDENTIFIER names,
// DB_SELECT_TAG, or both): the per-name alarms above cannot exist for a database known only
// at run time.
// - NoBackupInTheFleet: notify publishes FleetBackupSucceeded (dimension service only) with
//   each database's BackupSucceeded. N hourly sums below 1, missing data breaching: no
//   database at all had a successful backup for BACKUP_ALARM_HOURS (a disabled schedule, a
//   broken stack, every run failing without an email).
// - NoRecentBackupCoverage: reconcile publishes DatabasesWithoutRecentBackup each hour, the
//   selected databases (tagged ones included) whose newest available copy is older than
//   BACKUP_ALARM_HOURS (rds_backup/model/coverage.py). Above 0 for two hourly periods, or
//   reconcile silent for two hours (missing data breaching), is ALARM; reconcile's log
//   ("selected databases without a recent backup") and rds-backup status name them.
function fleetAlarms(c, stackName) {
  const hours = Number(c.backupAlarmHours);
  if (!Number.isInteger(hours) || hours < 2 || hours > MAX_HOURS) {
    throw new Error(
      `BACKUP_ALARM_HOURS: ${c.backupAlarmHours} is not a whole number of hours from 2 to ${MAX_HOURS}`
    );
  }
  const base = {
    Namespace: 'RdsBackup',
    Dimensions: [{ Name: 'service', Value: 'rds-backup' }],
    Period: HOUR,
    TreatMissingData: 'breaching',
    AlarmActions: [{ Ref: 'AlarmTopic' }],
    OKActions: [{ Ref: 'AlarmTopic' }],
  };
  return {
    Resources: {
      NoBackupInTheFleet: {
        Type: 'AWS::CloudWatch::Alarm',
        Properties: {
          ...base,
          AlarmName: `${stackName}-no-backup-fleet`,
          AlarmDescription:
            `No database had a successful backup for ${hours} h (BACKUP_ALARM_HOURS). The ` +
            'nightly schedule may be disabled, the stack broken, or every run failing without ' +
            "an email: run rds-backup status and doctor, and read the handlers' logs.",
          MetricName: 'FleetBackupSucceeded',
          Statistic: 'Sum',
          EvaluationPeriods: hours,
          DatapointsToAlarm: hours,
          Threshold: 1,
          ComparisonOperator: 'LessThanThreshold',
        },
      },
      NoRecentBackupCoverage: {
        Type: 'AWS::CloudWatch::Alarm',
        Properties: {
          ...base,
          AlarmName: `${stackName}-no-backup-coverage`,
          AlarmDescription:
            `A selected database (named or tagged) has no available copy taken within ${hours} h ` +
            '(BACKUP_ALARM_HOURS), or reconcile stopped reporting. rds-backup status names ' +
            "them (and reconcile's log: 'selected databases without a recent backup').",
          MetricName: 'DatabasesWithoutRecentBackup',
          Statistic: 'Maximum',
          EvaluationPeriods: 2,
          DatapointsToAlarm: 2,
          Threshold: 0,
          ComparisonOperator: 'GreaterThanThreshold',
        },
      },
    },
  };
}

module.exports = {
  fleetBackupAlarms: async ({ resolveConfigurationProperty }) => {
    const c = await resolveConfigurationProperty(['custom', 'config']);
    const stackName = await resolveConfigurationProperty(['custom', 'stackName']);
    return fleetAlarms(c, stackName);
  },
  fleetAlarms,
  noRecentDrill: async ({ resolveConfigurationProperty }) => {
    const c = await resolveConfigurationProperty(['custom', 'config']);
    const stackName = await resolveConfigurationProperty(['custom', 'stackName']);
    return drillAlarms(c, stackName);
  },
  drillAlarms,
  noRecentBackup: async ({ resolveConfigurationProperty }) => {
    const c = await resolveConfigurationProperty(['custom', 'config']);
    const stackName = await resolveConfigurationProperty(['custom', 'stackName']);
    return alarms(c, stackName);
  },
  alarms,
};
