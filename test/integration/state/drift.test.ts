import { dynaliteForFile } from '../../support/dynalite.ts';
import { describeDriftScenario } from '../../unit/core/drift-scenario.ts';

describeDriftScenario('DynamoDB state table on dynalite', dynaliteForFile('drift').newStore);
