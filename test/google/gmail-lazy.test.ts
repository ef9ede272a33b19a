/** Loading lib/google/gmail and creating the API object must not load @googleapis/gmail; the first call does. */
describe('lazy @googleapis/gmail', () => {
  it('is required on the first call only', () => {
    const loads: string[] = [];
    jest.isolateModules(() => {
      for (const m of ['@googleapis/gmail', '@googleapis/drive']) {
        jest.doMock(m, () => {
          loads.push(m);
          throw new Error(`${m} loaded`);
        });
      }
      const { createGmailApi } = require('../../lib/google/gmail') as typeof import('../../lib/google/gmail');
      const api = createGmailApi({} as never, { env: {} });
      expect(loads).toEqual([]);
      void api.getProfile().catch(() => undefined);
    });
    expect(loads).toEqual(['@googleapis/gmail']);
  });
});
