# Generates a folder of ~N MB of text files (slices of the shared corpora) for the ingest
# throughput and RSS figures in ingest/README.md:  python3 gen_text_folder.py 1000 OUTDIR
import os, sys, random
target_mb = int(sys.argv[1]); out = sys.argv[2]
srcs = []
for p in ["/work/shared/data/tinystories/tinystories_sample.txt", "/work/shared/data/tinyshakespeare", "/work/shared/data/wikitext-2"]:
    if os.path.isdir(p):
        for f in sorted(os.listdir(p)):
            fp = os.path.join(p, f)
            if os.path.isfile(fp): srcs.append(open(fp, 'rb').read())
    else: srcs.append(open(p, 'rb').read())
blob = b"\n".join(srcs)
rnd = random.Random(1)
total = 0; i = 0
while total < target_mb * 1_000_000:
    d = os.path.join(out, f"d{i // 500:03d}")
    os.makedirs(d, exist_ok=True)
    size = rnd.randint(20_000, 200_000)
    start = rnd.randint(0, len(blob) - size - 1)
    ext = [".txt", ".md", ".py", ".txt"][i % 4]
    with open(os.path.join(d, f"f{i:06d}{ext}"), "wb") as f:
        f.write(b"doc %d\n" % i); f.write(blob[start:start+size])
    total += size; i += 1
print(i, "files", total/1e6, "MB")
