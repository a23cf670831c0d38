// blob_sdk.js: Azure's own JavaScript SDK (@azure/storage-blob) as the
// independent client of the Blob Storage tests: it creates containers,
// uploads blobs and makes SAS tokens, so that nothing the tests read was
// written or signed by our code.  The account comes from
// AZURE_STORAGE_CONNECTION_STRING.
//
//   node blob_sdk.js container NAME
//   node blob_sdk.js put CONTAINER LOCAL_FILE BLOB_NAME...   (pairs)
//   node blob_sdk.js tree CONTAINER LOCAL_DIR [PREFIX]   every file under DIR
//   node blob_sdk.js copies CONTAINER LOCAL_FILE N      N copies, named as
//                      Capture does: ns/hub/P/2024/01/01/HH/MM/SS.avro
//   node blob_sdk.js sas CONTAINER PERMISSIONS          a container SAS query
'use strict';
const fs = require('fs');
const path = require('path');
const {
	BlobServiceClient, ContainerSASPermissions, StorageSharedKeyCredential,
	generateBlobSASQueryParameters,
} = require('@azure/storage-blob');

const conn = process.env.AZURE_STORAGE_CONNECTION_STRING;
const service = BlobServiceClient.fromConnectionString(conn);

// Upload [local, name] pairs, `width` at a time.
async function upload(container, pairs, width = 32) {
	const cc = service.getContainerClient(container);
	let next = 0;
	async function worker() {
		while (next < pairs.length) {
			const [local, name] = pairs[next++];
			await cc.getBlockBlobClient(name).uploadFile(local);
		}
	}
	await Promise.all(Array.from({ length: width }, worker));
}

function walk(dir) {
	const out = [];
	for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
		const p = path.join(dir, e.name);
		if (e.isDirectory())
			out.push(...walk(p));
		else if (e.isFile())
			out.push(p);
	}
	return out.sort();
}

function pad(n, w) {
	return String(n).padStart(w, '0');
}

async function main() {
	const [cmd, ...a] = process.argv.slice(2);
	if (cmd === 'container') {
		await service.getContainerClient(a[0]).createIfNotExists();
	} else if (cmd === 'put') {
		const pairs = [];
		for (let i = 1; i + 1 < a.length; i += 2)
			pairs.push([a[i], a[i + 1]]);
		await upload(a[0], pairs);
	} else if (cmd === 'tree') {
		const prefix = a[2] || '';
		await upload(a[0], walk(a[1]).map((f) => [f, prefix + path.relative(a[1], f)]));
	} else if (cmd === 'copies') {
		const pairs = [];
		for (let i = 0; i < Number(a[2]); i++) {
			const s = i % 60, m = Math.floor(i / 60) % 60, h = Math.floor(i / 3600);
			pairs.push([a[1], `ns/hub/${i % 4}/2024/01/01/${pad(h, 2)}/${pad(m, 2)}/${pad(s, 2)}.avro`]);
		}
		await upload(a[0], pairs);
	} else if (cmd === 'sas') {
		const parts = Object.fromEntries(conn.split(';').filter((p) => p.includes('='))
			.map((p) => [p.slice(0, p.indexOf('=')), p.slice(p.indexOf('=') + 1)]));
		const cred = new StorageSharedKeyCredential(parts.AccountName, parts.AccountKey);
		const q = generateBlobSASQueryParameters({
			containerName: a[0],
			permissions: ContainerSASPermissions.parse(a[1]),
			startsOn: new Date(Date.now() - 5 * 60 * 1000),
			expiresOn: new Date(Date.now() + 60 * 60 * 1000),
		}, cred);
		console.log(q.toString());
	} else {
		throw new Error(`unknown command ${cmd}`);
	}
}

main().catch((e) => {
	console.error(`blob_sdk.js: ${e.message}`);
	process.exit(1);
});
