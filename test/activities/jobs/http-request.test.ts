import { jobHttpRequest } from '../../../src/activities/jobs/http-request';

describe('HTTP job request', () => {
  it('URL-encodes values in the URL, fills strings of a JSON body and sends an idempotency key per date', () => {
    const request = jobHttpRequest(
      {
        url: 'http://127.0.0.1:8000/api/process?date={{date}}&tenant={{tenant}}',
        method: 'POST',
        body: { mode: '{{mode}}', dates: ['{{date}}'], force: false },
        expect: 202,
      },
      { date: '2025-12-02', tenant: 'a&b=c', mode: 'auto' },
      'job-x/run-1/2025-12-02',
    );
    expect(request).toEqual({
      method: 'POST',
      url: 'http://127.0.0.1:8000/api/process?date=2025-12-02&tenant=a%26b%3Dc',
      headers: {
        'Idempotency-Key': 'job-x/run-1/2025-12-02',
        'User-Agent': 'runbook-job',
        'Content-Type': 'application/json',
      },
      body: '{"mode":"auto","dates":["2025-12-02"],"force":false}',
      expect: [202],
    });
  });

  it('sends no body when the job has none', () => {
    const request = jobHttpRequest({ url: 'http://h/rotate', method: 'GET', expect: [200, 204] }, {}, 'k');
    expect(request.body).toBeUndefined();
    expect(request.expect).toEqual([200, 204]);
  });
});
