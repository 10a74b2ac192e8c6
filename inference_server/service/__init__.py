"""The gRPC layer: request validation and conversion, the job queue, the servicer and the server factory."""
