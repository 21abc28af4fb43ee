import { describe, expect, it } from 'vitest';
import { autovacuumSettingsFrom } from '../../../shared/postgres/catalog.ts';
import { defaultAutovacuumSettings } from '../../../shared/postgres/selection.ts';

describe('autovacuumSettingsFrom', () => {
  it("reads the server's values and keeps PostgreSQL's defaults where a setting is missing or odd", () => {
    const s = autovacuumSettingsFrom({
      autovacuum_vacuum_threshold: '500',
      autovacuum_vacuum_scale_factor: '0.05',
      autovacuum_analyze_threshold: null, // not on this server
      autovacuum_analyze_scale_factor: '',
      autovacuum_freeze_max_age: 'lots',
      autovacuum_vacuum_max_threshold: '-1',
      unrelated_setting: '7',
    });
    expect(s).toEqual({
      ...defaultAutovacuumSettings,
      vacuumThreshold: 500,
      vacuumScaleFactor: 0.05,
      vacuumMaxThreshold: -1,
    });
  });
});
