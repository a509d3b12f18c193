/** `wadi load smoke|load|stress`: the load scenarios of load/scenarios.json, run with autocannon. */
import { writeFileSync } from 'node:fs';
import { Argument, type Command, Option } from 'commander';
import type { LoadReport } from '../tools/load/report.ts';
import { loadScenario, SCENARIO_NAMES, type ScenarioName, withDuration } from '../tools/load/scenarios.ts';
import type { TimeToReply } from '../tools/load/time-to-reply.ts';
import { CliError, configOrExit } from './common.ts';

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]', '::1']);

/** Registers the command. */
export function registerLoad(program: Command): void {
  program
    .command('load')
    .description('run a load scenario (smoke: 5 users, load: 50, stress: ramp past 200) against a running WADI')
    .addArgument(new Argument('<scenario>', 'smoke, load or stress').choices(SCENARIO_NAMES))
    .option('--url <url>', 'WADI base URL (default http://127.0.0.1:PORT)')
    .option('--duration <seconds>', 'scale the stages to this total duration')
    .option('--json <file>', 'also write the report as JSON to this file')
    .option('--drain <seconds>', 'after the run, wait up to this long for the inbox backlog to empty', '30')
    .option('--llm-median-ms <ms>', "sandbox targets: the fake LLM's median latency during the run", '1500')
    .option('--llm-p95-ms <ms>', "sandbox targets: the fake LLM's p95 latency during the run", '6000')
    .option('--llm-instant', 'sandbox targets: the fake LLM answers at once (pipeline figures)')
    .option('--llm-keep', "sandbox targets: leave the fake LLM's latency as it is")
    .option('--voice <share>', 'sandbox targets: this share (0–1) of chat messages are voice notes', '0')
    .option('--image <share>', 'sandbox targets: this share (0–1) of chat messages are photos with a caption', '0')
    .addOption(
      new Option('--allow-remote', 'allow a target that is not this machine (only hosts you operate)').hideHelp(),
    )
    .action(
      async (
        name: ScenarioName,
        opts: {
          url?: string;
          duration?: string;
          json?: string;
          drain: string;
          allowRemote?: boolean;
          llmMedianMs: string;
          llmP95Ms: string;
          llmInstant?: boolean;
          llmKeep?: boolean;
          voice: string;
          image: string;
        },
      ) => {
        const config = configOrExit();
        const url = (opts.url ?? `http://127.0.0.1:${config.env.PORT}`).replace(/\/$/, '');
        let host: string;
        try {
          host = new URL(url).hostname;
        } catch {
          throw new CliError(`invalid --url "${opts.url}"`);
        }
        if (!LOOPBACK.has(host) && !opts.allowRemote) {
          throw new CliError(`refusing to load-test ${host}: only this machine (127.0.0.1) is a target by default`);
        }
        let scenario = loadScenario(name);
        if (opts.duration !== undefined) {
          const d = Number(opts.duration);
          if (!Number.isFinite(d) || d < 1)
            throw new CliError(`invalid --duration "${opts.duration}": expected seconds ≥ 1`);
          scenario = withDuration(scenario, d);
        }
        const drainSeconds = Number(opts.drain);
        if (!Number.isFinite(drainSeconds) || drainSeconds < 0) throw new CliError(`invalid --drain "${opts.drain}"`);
        const share = (flag: string, v: string) => {
          const n = Number(v);
          if (v.trim() === '' || !Number.isFinite(n) || n < 0 || n > 1)
            throw new CliError(`invalid ${flag} "${v}": expected a share between 0 and 1, such as 0.2`);
          return n;
        };
        const voiceShare = share('--voice', opts.voice);
        const imageShare = share('--image', opts.image);
        if (voiceShare + imageShare > 1) throw new CliError('--voice and --image together must not exceed 1');

        const [
          { formatReport, verdict },
          { runScenario },
          { drain, inboxPending, sandboxReplies },
          { TrafficGenerator },
          { collectTimeToReply, sandboxLlmCalls, sandboxSeq, summarizeTtr },
          { uploadLoadMedia },
        ] = await Promise.all([
          import('../tools/load/report.ts'),
          import('../tools/load/runner.ts'),
          import('../tools/load/server-side.ts'),
          import('../tools/load/traffic.ts'),
          import('../tools/load/time-to-reply.ts'),
          import('../tools/load/media.ts'),
        ]);
        const ready = await fetch(`${url}/health/ready`, { signal: AbortSignal.timeout(5000) }).catch(() => undefined);
        if (!ready) throw new CliError(`nothing answers at ${url}; start WADI first (npm start)`);
        const seqBefore = await sandboxSeq(url);
        let media: Awaited<ReturnType<typeof uploadLoadMedia>> | undefined;
        if (voiceShare + imageShare > 0) {
          if (seqBefore === null)
            throw new CliError('--voice and --image need a sandbox target (its media store serves the files)');
          try {
            media = await uploadLoadMedia(url, voiceShare, imageShare);
          } catch (err) {
            throw new CliError((err as Error).message);
          }
        }
        const traffic = new TrafficGenerator(
          scenario,
          {
            whatsappAppSecret: config.whatsapp?.appSecret,
            whatsappPhoneNumberId: config.whatsapp?.phoneNumberId,
            telegramWebhookSecret: config.telegram?.webhookSecret,
            adminKey: config.admin.keys[0],
          },
          undefined,
          media,
        );
        const metricsToken = config.env.METRICS_TOKEN;
        const repliesBefore = await sandboxReplies(url);
        // In sandbox mode the fake LLM answers like a hosted model (log-normal latency) unless told otherwise.
        const previousLatency = seqBefore === null ? undefined : await llmLatency(url);
        if (previousLatency && !opts.llmKeep) {
          const body = opts.llmInstant
            ? { mode: 'instant' }
            : { mode: 'lognormal', median_ms: Number(opts.llmMedianMs), p95_ms: Number(opts.llmP95Ms) };
          const res = await fetch(`${url}/sandbox/llm/latency`, {
            method: 'PUT',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify(body),
          });
          if (!res.ok) throw new CliError(`the sandbox refused the LLM latency: ${await res.text()}`);
        }
        const latencyDuringRun = previousLatency ? await llmLatency(url) : undefined;
        const startedAt = new Date().toISOString();
        const total = scenario.stages.reduce((n, s) => n + s.durationSeconds, 0);
        process.stderr.write(
          `wadi load ${name}: ${scenario.description}; ${scenario.stages.length} stage(s), ${total} s\n`,
        );
        const { stages, overall, accepted, operators } = await runScenario({
          url,
          scenario,
          traffic,
          adminKey: config.admin.keys[0],
          onProgress: (() => {
            let last = 0;
            // A live line on a terminal; one line every 5 s in logs.
            return (line: string) => {
              if (process.stderr.isTTY) process.stderr.write(`\r  ${line}   `);
              else if (Date.now() - last >= 5000) {
                last = Date.now();
                process.stderr.write(`  ${line}\n`);
              }
            };
          })(),
        });
        process.stderr.write('\n');
        const pendingAtEnd = (await inboxPending(url, metricsToken)) ?? undefined;
        const drained = pendingAtEnd && drainSeconds > 0 ? await drain(url, drainSeconds, metricsToken) : undefined;
        const ttrTimes =
          seqBefore === null ? null : await collectTimeToReply(url, seqBefore, accepted, Math.max(drainSeconds, 15));
        if (previousLatency && !opts.llmKeep) {
          await fetch(`${url}/sandbox/llm/latency`, {
            method: 'PUT',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify(previousLatency),
          }).catch(() => {});
        }
        const repliesAfter = await sandboxReplies(url);
        const llmCalls = seqBefore === null ? null : await sandboxLlmCalls(url, seqBefore);
        let timeToReply: LoadReport['timeToReply'];
        let stageTtr: TimeToReply[] | undefined;
        if (ttrTimes) {
          const pick = (f: (i: number) => boolean) => summarizeTtr(ttrTimes.filter((_, i) => f(i)));
          const has = (ch: string) => accepted.some((m) => m.channel === ch);
          timeToReply = {
            whatsapp: has('whatsapp') ? pick((i) => accepted[i].channel === 'whatsapp') : undefined,
            telegram: has('telegram') ? pick((i) => accepted[i].channel === 'telegram') : undefined,
            ...(media
              ? {
                  text: pick((i) => accepted[i].media === undefined),
                  voice: pick((i) => accepted[i].media === 'voice'),
                  image: pick((i) => accepted[i].media === 'image'),
                }
              : {}),
            all: summarizeTtr(ttrTimes),
          };
          stageTtr = stages.map((_, s) => pick((i) => accepted[i].stage === s));
        }
        const v = verdict(
          scenario,
          stages,
          overall,
          timeToReply && stageTtr ? { all: timeToReply.all, stages: stageTtr } : undefined,
        );
        const report: LoadReport = {
          scenario: name,
          url,
          startedAt,
          thresholds: scenario.thresholds,
          stages,
          overall,
          breakingPoint: v.breakingPoint,
          passed: v.passed,
          failures: v.failures,
          timeToReply,
          stageTimeToReplyP95Ms: stageTtr?.map((t) => t.p95Ms),
          // The latency model only applies when the target's assistant calls the fake LLM.
          llmLatency: llmCalls ? latencyDuringRun : undefined,
          llmCalls: llmCalls ?? undefined,
          llmNote:
            llmCalls === 0
              ? 'the target did not call the fake LLM (WADI_SANDBOX_LLM is off: the offline assistant answers at once), so no LLM latency applied: time-to-reply here is the pipeline alone'
              : undefined,
          operators,
          ...(media
            ? {
                media: {
                  voiceShare,
                  imageShare,
                  voiceBytes: media.voice.size,
                  imageBytes: media.image.size,
                  voice: accepted.filter((m) => m.media === 'voice').length,
                  image: accepted.filter((m) => m.media === 'image').length,
                },
              }
            : {}),
          server: {
            replies: repliesBefore !== null && repliesAfter !== null ? repliesAfter - repliesBefore : undefined,
            pendingAtEnd,
            pendingAfterDrain: drained?.pending ?? undefined,
            drainSeconds: drained?.seconds,
            note:
              repliesBefore === null ? 'the target is not in sandbox mode: replies are not counted here' : undefined,
          },
        };
        process.stdout.write(`${formatReport(report)}\n`);
        if (opts.json) writeFileSync(opts.json, `${JSON.stringify(report, null, 2)}\n`);
        if (!report.passed) process.exitCode = 1;
      },
    );
}

/** The sandbox's fake LLM latency model (undefined when the route is not there). */
async function llmLatency(url: string): Promise<Record<string, unknown> | undefined> {
  try {
    const res = await fetch(`${url}/sandbox/llm/latency`, { signal: AbortSignal.timeout(5000) });
    return res.ok ? ((await res.json()) as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
