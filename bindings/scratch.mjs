import { Encoder, Decoder } from "cbor-x";
const enc = new Encoder({ useRecords: false, tagUint8Array: false, mapsAsObjects: true, pack: false, structuredClone: false, variableMapSize: true });
const dec = new Decoder({ useRecords: false, mapsAsObjects: true });
for (const n of [2**31, 2**32, 2**40, 2**53-1, -(2**40), 1e20, -0, 0.5]) console.log(n, Buffer.from(enc.encode(n)).toString("hex"));
console.log(dec.decode(Buffer.from("1b0000010000000000","hex")), dec.decode(Buffer.from("1b0020000000000000","hex")));
console.log(Buffer.from(enc.encode({a:1})).toString("hex"));
