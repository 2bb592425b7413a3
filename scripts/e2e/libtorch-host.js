'use strict';
// The e2e test's stand-in for download.pytorch.org: serves one LibTorch zip under /libtorch/<path>/<file>
// (the official layout, so L0SPARSE_LIBTORCH_MIRROR=<base>/libtorch works unchanged), and the same file under
// failure prefixes: /missing/... answers 404, /cut-once/... cuts the first connection mid-body (the client
// must retry), /cut/... cuts every connection. Every request is logged, so a test can prove that a second
// install downloaded nothing.
const fs = require('fs');
const http = require('http');

function startLibTorchHost({ file, urlPath }) {
  const size = fs.statSync(file).size;
  const requests = [];
  let cutOnceDone = false;
  const server = http.createServer((req, res) => {
    const url = decodeURIComponent(req.url || '');
    requests.push(url);
    const prefix = url.split('/')[1];
    const rest = url.slice(prefix.length + 1);
    if (rest !== urlPath || !['libtorch', 'cut-once', 'cut'].includes(prefix)) {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not found\n');
      return;
    }
    res.writeHead(200, { 'content-length': String(size), 'content-type': 'application/zip' });
    const cut = prefix === 'cut' || (prefix === 'cut-once' && !cutOnceDone);
    if (prefix === 'cut-once') cutOnceDone = true;
    const stream = fs.createReadStream(file, cut ? { start: 0, end: Math.floor(size / 3) } : {});
    if (cut) {
      stream.on('data', (c) => res.write(c));
      stream.on('end', () => setTimeout(() => res.socket && res.socket.destroy(), 50));
    } else {
      stream.pipe(res);
    }
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => {
    const base = `http://127.0.0.1:${server.address().port}`;
    resolve({
      base,
      requests,
      /** Requests for the archive (any prefix), counted from `since`. */
      downloads: (since = 0) => requests.slice(since).filter((u) => u.endsWith(urlPath)).length,
      close: () => new Promise((r) => { server.closeAllConnections(); server.close(() => r()); }),
    });
  }));
}

module.exports = { startLibTorchHost };
