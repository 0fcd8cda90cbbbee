// TEST ONLY — never deployed. The client integrators are told to write: the seed's `apiRequest`, copied
// verbatim from shared/spec/errors.md ("Handling Errors in Code"), so the e2e suite can prove the gateway's
// responses work with it. Do not "fix" the function body: its quirks are part of what is being tested.
// Known quirks, as written in the spec:
// - the 429 branch "retry once" actually recurses without a limit while the gateway keeps answering 429;
// - every non-2xx body goes through response.json(), so a non-JSON error body throws a SyntaxError;
// - a 2xx is also parsed as JSON, so a 204 No Content (e.g. DELETE) throws a SyntaxError;
// - VALIDATION_ERROR reads error.details.fields, so details: null throws a TypeError.
/* eslint-disable no-case-declarations -- the seed declares `retryAfter` inside a case; kept verbatim. */

/**
 * Returns the seed's `apiRequest(url, options)` closed over `API_KEY` (sent as X-Integration-Key). With
 * `baseUrl`, the returned function also accepts paths (`/psa/tickets`) and resolves them against it;
 * the retry inside the seed function then calls itself with the absolute URL, as the spec does.
 */
export function makeApiRequest(API_KEY, baseUrl) {
async function apiRequest(url, options) {
  const response = await fetch(url, {
    ...options,
    headers: {
      'X-Integration-Key': API_KEY,
      'Content-Type': 'application/json',
      ...options?.headers,
    },
  });

  if (!response.ok) {
    const error = await response.json();
    switch (error.code) {
      case 'RATE_LIMIT_EXCEEDED':
        const retryAfter = parseInt(response.headers.get('Retry-After') || '5', 10);
        await new Promise(r => setTimeout(r, retryAfter * 1000));
        return apiRequest(url, options); // retry once
      case 'VALIDATION_ERROR':
        console.error('Validation errors:', error.details.fields);
        throw new Error(`Validation failed: ${error.error}`);
      case 'UNAUTHORIZED':
      case 'TOKEN_EXPIRED':
        throw new Error('Authentication failed. Check your API key or session.');
      default:
        throw new Error(`API error (${error.code}): ${error.error}`);
    }
  }
  return response.json();
}

  if (baseUrl === undefined) return apiRequest;
  return (url, options) => apiRequest(new URL(url, baseUrl).href, options);
}
