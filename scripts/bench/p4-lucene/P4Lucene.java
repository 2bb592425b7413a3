// Peer of benchmark P4: exact top-10 with Lucene FeatureField linear queries (the scoring OpenSearch's
// rank_features field uses), over the vectors scripts/bench/p4-search.js writes. Compiled with javac at
// bench time against Debian's liblucene8-java; never committed as a .class or .jar.
//
//   java -cp <classes>:lucene-core.jar P4Lucene <workdir>
// Reads <workdir>/docs.txt ("docIndex<TAB>col:weight ...") and queries.txt ("qid<TAB>col:weight ..."),
// indexes one FeatureField per (doc, col) in a single in-memory segment (doc ids = line order), then
// answers commands on stdin, one per line:
// The ready line is "ready <docs> <queries> <build ns> <index bytes>": build = addDocument of every line
// (already read and split) + commit; index bytes = the files the segment would write to disk.
//   run <threads>   one timed pass over all queries; prints "ns <elapsed ns> cpu_ns <process CPU ns>"
//   lat <file>      times each query alone (one thread), writes one ns value per line; prints "ok"
//   dump <file>     writes "qid rank docIndex score" lines of every query's top 10; prints "ok"
//   rss             prints "rss_kb <peak resident set size>"
//   quit
import java.io.*;
import java.nio.charset.StandardCharsets;
import java.nio.file.*;
import java.util.*;
import java.util.concurrent.*;
import java.util.concurrent.atomic.AtomicInteger;

import org.apache.lucene.document.*;
import org.apache.lucene.index.*;
import org.apache.lucene.search.*;
import org.apache.lucene.store.ByteBuffersDirectory;

public class P4Lucene {
  static final String FIELD = "f";

  // CPU time of the whole JVM (search threads, JIT and GC included): less sensitive than wall time to
  // other processes on a shared machine.
  static long processCpuNanos() {
    return ((com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory.getOperatingSystemMXBean()).getProcessCpuTime();
  }

  static List<String[]> readLines(Path p) throws IOException {
    List<String[]> out = new ArrayList<>();
    for (String line : Files.readAllLines(p, StandardCharsets.UTF_8)) {
      if (line.isEmpty()) continue;
      int tab = line.indexOf('\t');
      out.add(new String[] {line.substring(0, tab), line.substring(tab + 1)});
    }
    return out;
  }

  static Query toQuery(String vector) {
    BooleanQuery.Builder b = new BooleanQuery.Builder();
    for (String pair : vector.trim().split(" ")) {
      if (pair.isEmpty()) continue;
      int c = pair.indexOf(':');
      b.add(FeatureField.newLinearQuery(FIELD, "t" + pair.substring(0, c), Float.parseFloat(pair.substring(c + 1))), BooleanClause.Occur.SHOULD);
    }
    return b.build();
  }

  public static void main(String[] args) throws Exception {
    Path dir = Paths.get(args[0]);
    BooleanQuery.setMaxClauseCount(1 << 16);
    ByteBuffersDirectory store = new ByteBuffersDirectory();
    // One flush, one segment, no merges: Lucene doc id i is line i of docs.txt.
    IndexWriterConfig config = new IndexWriterConfig()
        .setRAMBufferSizeMB(2048).setMaxBufferedDocs(IndexWriterConfig.DISABLE_AUTO_FLUSH)
        .setMergePolicy(NoMergePolicy.INSTANCE).setOpenMode(IndexWriterConfig.OpenMode.CREATE);
    int docCount = 0;
    List<String[]> docLines = readLines(dir.resolve("docs.txt"));
    long build0 = System.nanoTime();
    try (IndexWriter writer = new IndexWriter(store, config)) {
      for (String[] d : docLines) {
        Document doc = new Document();
        doc.add(new NumericDocValuesField("idx", Long.parseLong(d[0])));
        for (String pair : d[1].trim().split(" ")) {
          if (pair.isEmpty()) continue;
          int c = pair.indexOf(':');
          doc.add(new FeatureField(FIELD, "t" + pair.substring(0, c), Float.parseFloat(pair.substring(c + 1))));
        }
        writer.addDocument(doc);
        docCount++;
      }
      writer.commit();
    }
    long buildNs = System.nanoTime() - build0;
    docLines = null;
    long indexBytes = 0;
    for (String f : store.listAll()) indexBytes += store.fileLength(f);
    DirectoryReader reader = DirectoryReader.open(store);
    if (reader.leaves().size() != 1) throw new IllegalStateException("expected one segment, got " + reader.leaves().size());
    IndexSearcher searcher = new IndexSearcher(reader);
    searcher.setQueryCache(null);  // every pass must do the work, not replay cached clauses
    List<String[]> qlines = readLines(dir.resolve("queries.txt"));
    String[] qids = new String[qlines.size()];
    Query[] queries = new Query[qlines.size()];
    for (int i = 0; i < queries.length; i++) { qids[i] = qlines.get(i)[0]; queries[i] = toQuery(qlines.get(i)[1]); }
    TopDocs[] results = new TopDocs[queries.length];
    Map<Integer, ExecutorService> pools = new HashMap<>();
    System.out.println("ready " + docCount + " " + queries.length + " " + buildNs + " " + indexBytes);
    System.out.flush();

    BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    for (String cmd; (cmd = in.readLine()) != null; ) {
      String[] parts = cmd.trim().split(" ");
      switch (parts[0]) {
        case "run": {
          int threads = Integer.parseInt(parts[1]);
          long cpu0 = processCpuNanos();
          long t0 = System.nanoTime();
          if (threads == 1) {
            for (int i = 0; i < queries.length; i++) results[i] = searcher.search(queries[i], 10);
          } else {
            ExecutorService pool = pools.computeIfAbsent(threads, Executors::newFixedThreadPool);
            AtomicInteger next = new AtomicInteger();
            List<Future<?>> futures = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
              futures.add(pool.submit(() -> {
                for (int i = next.getAndIncrement(); i < queries.length; i = next.getAndIncrement()) results[i] = searcher.search(queries[i], 10);
                return null;
              }));
            }
            for (Future<?> f : futures) f.get();
          }
          long elapsed = System.nanoTime() - t0;
          System.out.println("ns " + elapsed + " cpu_ns " + (processCpuNanos() - cpu0));
          break;
        }
        case "lat": {
          try (PrintWriter out = new PrintWriter(Files.newBufferedWriter(Paths.get(parts[1]), StandardCharsets.UTF_8))) {
            for (int i = 0; i < queries.length; i++) {
              long q0 = System.nanoTime();
              results[i] = searcher.search(queries[i], 10);
              out.println(System.nanoTime() - q0);
            }
          }
          System.out.println("ok");
          break;
        }
        case "dump": {
          NumericDocValues idx;
          try (PrintWriter out = new PrintWriter(Files.newBufferedWriter(Paths.get(parts[1]), StandardCharsets.UTF_8))) {
            for (int i = 0; i < queries.length; i++) {
              TopDocs top = searcher.search(queries[i], 10);
              for (int r = 0; r < top.scoreDocs.length; r++) {
                idx = DocValues.getNumeric(reader.leaves().get(0).reader(), "idx");
                idx.advanceExact(top.scoreDocs[r].doc);
                out.println(qids[i] + " " + (r + 1) + " " + idx.longValue() + " " + top.scoreDocs[r].score);
              }
            }
          }
          System.out.println("ok");
          break;
        }
        case "rss": {
          long kb = -1;
          for (String line : Files.readAllLines(Paths.get("/proc/self/status"))) {
            if (line.startsWith("VmHWM:")) kb = Long.parseLong(line.replaceAll("[^0-9]", ""));
          }
          System.out.println("rss_kb " + kb);
          break;
        }
        case "quit":
          for (ExecutorService p : pools.values()) p.shutdownNow();
          reader.close();
          return;
        default:
          System.out.println("error unknown command " + cmd);
      }
      System.out.flush();
    }
  }
}
