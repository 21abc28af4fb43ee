import './rds-replica-rules.ts';
import './dynamodb-rules.ts';
