-- Machine clients (integrators): OAuth2 client credentials, the secret kept as a hash.
CREATE TABLE integrator_clients (
    client_id   uuid PRIMARY KEY,
    secret_hash text NOT NULL,
    created_at  timestamptz NOT NULL,
    revoked_at  timestamptz
);
