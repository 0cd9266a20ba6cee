import { transportConformance } from '@kommander/testkit';
import { httpCluster } from './http-cluster.js';

transportConformance({
  name: 'REST over HTTP',
  test,
  factory: (ids) => httpCluster(ids),
  supports: { ordered: true, restart: true, cut: true, sizeLimit: true },
});

transportConformance({
  name: 'REST over HTTP with shared-secret authentication',
  test,
  factory: (ids) => httpCluster(ids, () => ({ mode: 'shared-secret', secret: 'conformance-secret-of-32-bytes!!', maxSkewMs: 10_000 })),
  supports: { ordered: true, restart: true, cut: true, sizeLimit: true },
});
