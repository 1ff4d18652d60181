/**
 * Throwaway TLS material for tests: a certificate authority and a server certificate for
 * `127.0.0.1` and `localhost`, made with openssl in a temporary directory at test time (never
 * committed). Tests skip, saying why, when openssl is missing.
 */
import { join } from "node:path";

/** Paths and PEM texts of one throwaway CA and server certificate; disposing deletes them. */
export interface TestCertificates extends AsyncDisposable {
  readonly dir: string;
  readonly caPath: string;
  readonly certPath: string;
  readonly keyPath: string;
  readonly ca: string;
  readonly cert: string;
  readonly key: string;
}

/** Why TLS tests are skipped, or undefined when openssl runs. */
export const OPENSSL_MISSING: string | undefined = await (async () => {
  try {
    const { success } = await new Deno.Command("openssl", {
      args: ["version"],
      stdout: "null",
      stderr: "null",
    }).output();
    return success ? undefined : "openssl version failed";
  } catch {
    return "openssl is not installed (.ci/run installs it with apt-get)";
  }
})();

const EC = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"];

async function openssl(dir: string, args: string[]): Promise<void> {
  const { success, stderr } = await new Deno.Command("openssl", {
    args,
    cwd: dir,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).output();
  if (!success) {
    throw new Error(
      `openssl ${args[0]} failed: ${new TextDecoder().decode(stderr)}`,
    );
  }
}

/** Makes a CA and a server certificate signed by it (P-256 keys, valid for two days). */
export async function makeCertificates(): Promise<TestCertificates> {
  const dir = await Deno.makeTempDir({ prefix: "em_tls_" });
  try {
    const ca =
      "req -x509 -nodes -keyout ca.key -out ca.pem -days 2 -subj /CN=em-test-CA";
    await openssl(dir, [
      ...ca.split(" "),
      ...EC,
      ...["-addext", "basicConstraints=critical,CA:TRUE"],
      ...["-addext", "keyUsage=critical,keyCertSign,cRLSign"],
    ]);
    const csr =
      "req -nodes -keyout server.key -out server.csr -subj /CN=localhost";
    await openssl(dir, [...csr.split(" "), ...EC]);
    await Deno.writeTextFile(
      join(dir, "server.ext"),
      "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n" +
        "extendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature\n",
    );
    const sign =
      "x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial" +
      " -out server.pem -days 2 -extfile server.ext";
    await openssl(dir, sign.split(" "));
  } catch (error) {
    await Deno.remove(dir, { recursive: true });
    throw error;
  }
  const read = (name: string) => Deno.readTextFile(join(dir, name));
  return {
    dir,
    caPath: join(dir, "ca.pem"),
    certPath: join(dir, "server.pem"),
    keyPath: join(dir, "server.key"),
    ca: await read("ca.pem"),
    cert: await read("server.pem"),
    key: await read("server.key"),
    async [Symbol.asyncDispose]() {
      await Deno.remove(dir, { recursive: true });
    },
  };
}

if (OPENSSL_MISSING !== undefined) {
  // deno-lint-ignore no-console
  console.log(`TLS tests skipped: ${OPENSSL_MISSING}`);
}
