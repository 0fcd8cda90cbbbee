/**
 * Reference (a): the bare pass-through. Forwards the incoming request, body streamed, to env.UPSTREAM and
 * returns the upstream's response untouched. Nothing cheaper can proxy a request through a Worker, so this
 * is the floor every gateway scenario is compared with.
 */
export default {
  fetch(request, env) {
    const url = new URL(request.url);
    return fetch(new Request(env.UPSTREAM + url.pathname + url.search, request));
  },
};
