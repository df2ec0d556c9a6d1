import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { fleetProtoPath } from '../../libs/contracts/index.js';

/** A FleetService client with promise helpers for unary calls. */
export function fleetClient(address: string, token?: string) {
  const def = protoLoader.loadSync(fleetProtoPath(), {
    keepCase: false,
    longs: String,
    enums: String,
    defaults: true,
    oneofs: true,
  });
  const pkg = grpc.loadPackageDefinition(def) as any;
  const client = new pkg.flotilla.v1.FleetService(
    address,
    grpc.credentials.createInsecure(),
  ) as grpc.Client & Record<string, (...args: any[]) => any>;
  /** Metadata carrying `token` as `authorization: Bearer`, for calls and streams. */
  const auth = (as: string | undefined = token) => {
    const metadata = new grpc.Metadata();
    if (as !== undefined) metadata.set('authorization', `Bearer ${as}`);
    return metadata;
  };
  const call = <T>(method: string, req: unknown, metadata = auth()): Promise<T> =>
    new Promise((resolve, reject) => {
      client[method]!(req, metadata, (err: grpc.ServiceError | null, res: T) =>
        err ? reject(err) : resolve(res),
      );
    });
  return { client, call, auth };
}
