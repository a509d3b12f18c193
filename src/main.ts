/** Process entry: hands the command line to the CLI. */
import { run } from './cli/index.ts';

await run(process.argv);
