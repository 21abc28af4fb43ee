import { DEFAULT_ALARM_PREFIX } from '../../../shared/alarms/names.ts';
import type { DeployOptions } from '../../../shared/deploy/iam.ts';

/** The deploy options of a `dev` stage with the defaults (no routing zones, no KMS keys). */
export const DEPLOY_OPTIONS: DeployOptions = {
  service: 'db-autopilot',
  stage: 'dev',
  alarmPrefix: DEFAULT_ALARM_PREFIX,
  dashboardName: 'db-autopilot',
  pauseParameter: '/db-autopilot/paused',
  slackWebhookParameter: '/db-autopilot/slack-webhook-url',
  databaseSecretPrefix: 'db-autopilot/',
  routingHostedZoneIds: [],
};
