import * as http from 'node:http';
import { AddressInfo } from 'node:net';
import { googleRootUrl, oauthTokenUrl } from '../../lib/google/root-url';
import { makeDrive, makeGmail, callOptions, makeOAuthClient } from '../../lib/google/clients';

describe('SYFT_BG_GOOGLE_ROOT_URL', () => {
  it('is optional, normalised with a trailing slash, and https or loopback http only', () => {
    expect(googleRootUrl({})).toBeUndefined();
    expect(googleRootUrl({ SYFT_BG_GOOGLE_ROOT_URL: 'http://127.0.0.1:9000' })).toBe('http://127.0.0.1:9000/');
    expect(googleRootUrl({ SYFT_BG_GOOGLE_ROOT_URL: 'http://localhost:9000/x/' })).toBe('http://localhost:9000/x/');
    expect(googleRootUrl({ SYFT_BG_GOOGLE_ROOT_URL: 'https://proxy.example.org' })).toBe('https://proxy.example.org/');
    expect(() => googleRootUrl({ SYFT_BG_GOOGLE_ROOT_URL: 'http://10.0.0.1:9000' })).toThrow(/only allowed on a loopback/);
    expect(() => googleRootUrl({ SYFT_BG_GOOGLE_ROOT_URL: 'not a url' })).toThrow(/is not a URL/);
    expect(oauthTokenUrl({ SYFT_BG_GOOGLE_ROOT_URL: 'http://127.0.0.1:9000' })).toBe('http://127.0.0.1:9000/token');
    expect(oauthTokenUrl({})).toBe('https://oauth2.googleapis.com/token');
  });

  describe('real googleapis clients against a loopback server', () => {
    let server: http.Server;
    const seen: string[] = [];
    let env: NodeJS.ProcessEnv;
    beforeAll(async () => {
      server = http.createServer((req, res) => {
        let body = '';
        req.on('data', (d) => (body += d));
        req.on('end', () => {
          seen.push(`${req.method} ${req.url!.split('?')[0]} ${req.headers.authorization ?? ''}`);
          res.setHeader('content-type', 'application/json');
          if (req.url!.startsWith('/token')) {
            res.end(JSON.stringify({ access_token: 'fresh', expires_in: 3600, token_type: 'Bearer' }));
            return;
          }
          res.end(JSON.stringify({ id: 'x1', files: [] }));
        });
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      env = { SYFT_BG_GOOGLE_ROOT_URL: `http://127.0.0.1:${(server.address() as AddressInfo).port}/` };
    });
    afterAll(() => new Promise((r) => server.close(r)));

    it('sends normal calls, uploads and token refreshes to the root URL', async () => {
      const auth = makeOAuthClient({ clientId: 'c', clientSecret: 's' }, env);
      auth.setCredentials({ refresh_token: 'r', access_token: 'old', expiry_date: Date.now() - 1000 });
      const drive = makeDrive(auth, env);
      await drive.files.list({ q: "name = 'a'" }, callOptions(env));
      await drive.files.create(
        { requestBody: { name: 'f.txt' }, media: { mimeType: 'text/plain', body: 'hello' } },
        callOptions(env),
      );
      const gmail = makeGmail(auth, env);
      await gmail.users.messages.send({ userId: 'me', requestBody: { raw: Buffer.from('x').toString('base64url') } }, callOptions(env));
      expect(seen).toEqual([
        'POST /token ',
        'GET /drive/v3/files Bearer fresh',
        'POST /upload/drive/v3/files Bearer fresh',
        'POST /gmail/v1/users/me/messages/send Bearer fresh',
      ]);
    });
  });
});
