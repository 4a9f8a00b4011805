/** `simbind simulate`'s line in the usage text: apart, so printing the usage loads no simulator. */
export const SIMULATE_USAGE = `simulate <revio|thingspace|jasper> [--port N] [--host ADDRESS] [--devices N]
                        [--limit-per-minute N] [--limit-per-second N] [--concurrency N]
                        [--fail-rate R [--fail-status S]] [--latency-ms N]
                        run one external-system simulator (demo accounts) as its own process:
                        --devices N: an account of N devices to sync (Rev.io: N customers);
                        --limit-per-minute: Rev.io (default 500 per account) or ThingSpace (none);
                        --limit-per-second, --concurrency: Jasper (default 5, 1 at a time);
                        --fail-rate R: that share of requests answers S (default 500; 429 with
                        Retry-After: 1); --latency-ms: added to every request. Prints its URL.`;
