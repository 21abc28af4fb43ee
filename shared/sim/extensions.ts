import './rds-replica-rules.ts';
