import { transportConformance } from '@kommander/testkit';
import { grpcCluster } from './support.js';

jest.setTimeout(15_000);

transportConformance({
  name: 'GrpcTransport',
  test,
  factory: (nodeIds) => grpcCluster(nodeIds),
  supports: { ordered: true, restart: true, cut: true, sizeLimit: true },
});

/** A small limit, so that the size-limit case also runs with a frame just over a non-default bound. */
transportConformance({
  name: 'GrpcTransport with a 256 KiB limit',
  test,
  factory: (nodeIds) => grpcCluster(nodeIds, { maxMessageBytes: 256 * 1024 }),
  supports: { ordered: true, sizeLimit: true },
});
