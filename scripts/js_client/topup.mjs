// Pays a Gatehouse top-up with the official x402 JS client, unmodified:
//   node topup.mjs <top-up URL> <network> <asset> <max atomic units>
// with the payer's private key in X402_PAYER_KEY. Prints the JSON answer and
// the decoded PAYMENT-RESPONSE header; exits 1 unless the answer is a 200.
import { wrapFetchWithPaymentFromConfig, decodePaymentResponseHeader } from "@x402/fetch";
import { ExactEvmScheme } from "@x402/evm";
import { privateKeyToAccount } from "viem/accounts";

const [url, network, asset, maxAtomic] = process.argv.slice(2);
const account = privateKeyToAccount(process.env.X402_PAYER_KEY);
const fetchWithPayment = wrapFetchWithPaymentFromConfig(fetch, {
  schemes: [{ network, client: new ExactEvmScheme(account) }],
  // A local token is not one of the SDK's known assets: allow it, with a cap.
  spendControls: { allowedAssets: [{ network, asset, maxAmountPerPayment: maxAtomic }] },
});

const response = await fetchWithPayment(url, {
  method: "POST",
  headers: { "Content-Type": "application/json" },
  body: "{}",
});
const header = response.headers.get("PAYMENT-RESPONSE");
console.log(
  JSON.stringify({
    status: response.status,
    body: await response.json(),
    paymentResponse: header ? decodePaymentResponseHeader(header) : null,
  }),
);
process.exit(response.status === 200 ? 0 : 1);
