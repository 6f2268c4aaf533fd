// Reads every record of the given topics from the beginning (by assignment, no consumer group)
// and decodes each one with the official CloudEvents Java SDK's Kafka binding, the way a
// spec-following consumer would. Prints one line per record:
//   <topic> <partition> <offset> <key> OK <id> <type> <source>
//   <topic> <partition> <offset> <key> FAIL <reason>
// Usage: java -cp 'DIR/*:CLASSES' CheckTopics CLIENT.properties TOPIC...
import io.cloudevents.CloudEvent;
import io.cloudevents.kafka.CloudEventDeserializer;
import java.io.FileInputStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

public class CheckTopics {
  public static void main(String[] args) throws Exception {
    Properties props = new Properties();
    try (FileInputStream in = new FileInputStream(args[0])) {
      props.load(in);
    }
    props.put("enable.auto.commit", "false");
    props.put("key.deserializer", ByteArrayDeserializer.class.getName());
    props.put("value.deserializer", ByteArrayDeserializer.class.getName());
    CloudEventDeserializer decoder = new CloudEventDeserializer();
    decoder.configure(Map.of(), false);
    try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(props)) {
      List<TopicPartition> parts = new ArrayList<>();
      for (int i = 1; i < args.length; i++) {
        for (PartitionInfo p : consumer.partitionsFor(args[i], Duration.ofSeconds(30))) {
          parts.add(new TopicPartition(p.topic(), p.partition()));
        }
      }
      consumer.assign(parts);
      consumer.seekToBeginning(parts);
      Map<TopicPartition, Long> ends = consumer.endOffsets(parts, Duration.ofSeconds(30));
      long deadline = System.currentTimeMillis() + 60_000;
      while (System.currentTimeMillis() < deadline) {
        boolean done = true;
        for (TopicPartition tp : parts) {
          if (consumer.position(tp) < ends.get(tp)) {
            done = false;
          }
        }
        if (done) {
          break;
        }
        for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(500))) {
          String key = r.key() == null ? "-" : new String(r.key(), "UTF-8");
          String where = r.topic() + " " + r.partition() + " " + r.offset() + " " + key;
          try {
            CloudEvent event = decoder.deserialize(r.topic(), r.headers(), r.value());
            System.out.println(
                where + " OK " + event.getId() + " " + event.getType() + " " + event.getSource());
          } catch (RuntimeException e) {
            System.out.println(where + " FAIL " + e.getClass().getSimpleName());
          }
        }
      }
      System.out.println("END");
    }
  }
}
