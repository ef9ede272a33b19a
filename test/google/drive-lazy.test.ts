/**
 * Loading lib/google/{query,retry,drive} must not load @googleapis/drive (~60 ms); creating the API object must
 * not either. Only the first call does.
 */
describe('lazy @googleapis/drive', () => {
  it('is required on the first call only', () => {
    const loads: string[] = [];
    jest.isolateModules(() => {
      jest.doMock('@googleapis/drive', () => {
        loads.push('@googleapis/drive');
        throw new Error('@googleapis/drive loaded');
      });
      jest.doMock('@googleapis/gmail', () => {
        loads.push('@googleapis/gmail');
        throw new Error('@googleapis/gmail loaded');
      });
      require('../../lib/google/query');
      require('../../lib/google/retry');
      const { createDriveApi } = require('../../lib/google/drive') as typeof import('../../lib/google/drive');
      expect(loads).toEqual([]);
      const api = createDriveApi({} as never, { env: {} });
      expect(loads).toEqual([]);
      void api.whoami().catch(() => undefined);
    });
    expect(loads).toEqual(['@googleapis/drive']);
  });
});
