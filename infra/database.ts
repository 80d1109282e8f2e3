// The network and the database: a VPC whose function subnets reach AWS's public
// APIs through one NAT gateway, PostgreSQL in isolated subnets (encrypted, not
// public, credentials generated into Secrets Manager), and RDS Proxy in front so
// a burst of Lambda sandboxes does not become a burst of database backends.
// Two logins, each its own generated secret: the master (RDS's), used only by the
// migration function, and the app role the route functions log in as, which may
// read and write the app's rows but change no schema (functions/adapters/app-role.ts).
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import {
  FlowLogDestination,
  FlowLogTrafficType,
  InstanceType,
  IpAddresses,
  Peer,
  Port,
  SecurityGroup,
  SubnetType,
  Vpc,
} from 'aws-cdk-lib/aws-ec2';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import {
  Credentials,
  DatabaseInstance,
  DatabaseInstanceEngine,
  DatabaseProxy,
  DatabaseSecret,
  PostgresEngineVersion,
  ProxyTarget,
} from 'aws-cdk-lib/aws-rds';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';

export const DATABASE_NAME = 'chat';
/** the login of the route functions; created and granted by the migration function */
export const APP_ROLE = 'chat_app';
const POSTGRES_PORT = 5432;
const HTTPS_PORT = 443;

export interface ChatDatabaseProps {
  /** e.g. t4g.micro (the default), t4g.small, m7g.large */
  instanceType: string;
  multiAz: boolean;
  /** deletion protection, and a final snapshot when the stack is deleted */
  protect: boolean;
  /** 1 (one AZ) or 2 (zone-redundant egress) */
  natGateways: number;
}

export class ChatDatabase extends Construct {
  readonly vpc: Vpc;
  readonly instance: DatabaseInstance;
  readonly proxy: DatabaseProxy;
  /** the master login: only the migration function reads it */
  readonly secret: ISecret;
  /** the app role's login: every other function reads this one */
  readonly appSecret: ISecret;
  /** every function runs in this group; only it may open the proxy's port */
  readonly functionsSecurityGroup: SecurityGroup;

  constructor(scope: Construct, id: string, props: ChatDatabaseProps) {
    super(scope, id);

    const flowLogs = new LogGroup(this, 'RejectedFlows', { retention: RetentionDays.ONE_MONTH, removalPolicy: RemovalPolicy.DESTROY });
    this.vpc = new Vpc(this, 'Network', {
      ipAddresses: IpAddresses.cidr('10.40.0.0/16'),
      maxAzs: 2,
      // One NAT gateway: the functions call API Gateway's management API, SES and
      // Secrets Manager over their public endpoints (docs/DEPLOY.md says why).
      natGateways: props.natGateways,
      subnetConfiguration: [
        { name: 'public', subnetType: SubnetType.PUBLIC, cidrMask: 24 },
        { name: 'functions', subnetType: SubnetType.PRIVATE_WITH_EGRESS, cidrMask: 20 },
        { name: 'database', subnetType: SubnetType.PRIVATE_ISOLATED, cidrMask: 24 },
      ],
      flowLogs: {
        rejected: { trafficType: FlowLogTrafficType.REJECT, destination: FlowLogDestination.toCloudWatchLogs(flowLogs) },
      },
    });

    this.functionsSecurityGroup = new SecurityGroup(this, 'Functions', {
      vpc: this.vpc,
      description: 'Wild Whispers functions: out to the proxy and to AWS APIs over HTTPS',
      // Out only where they go: the proxy's port (added below, to the proxy's group)
      // and HTTPS for the management API, SES and Secrets Manager. Those public
      // endpoints have no fixed addresses or AWS prefix list, hence any IPv4 on 443.
      allowAllOutbound: false,
    });
    this.functionsSecurityGroup.addEgressRule(Peer.anyIpv4(), Port.tcp(HTTPS_PORT), 'AWS APIs over HTTPS, through the NAT gateway');
    const proxySecurityGroup = new SecurityGroup(this, 'ProxyGroup', {
      vpc: this.vpc,
      description: 'RDS Proxy: in from the functions only',
      allowAllOutbound: false,
    });
    const databaseSecurityGroup = new SecurityGroup(this, 'DatabaseGroup', {
      vpc: this.vpc,
      description: 'PostgreSQL: in from the proxy only',
      allowAllOutbound: false,
    });

    this.instance = new DatabaseInstance(this, 'Postgres', {
      // RDS Proxy supports PostgreSQL 16; RDS applies its minor versions.
      engine: DatabaseInstanceEngine.postgres({ version: PostgresEngineVersion.VER_16 }),
      instanceType: new InstanceType(props.instanceType),
      vpc: this.vpc,
      vpcSubnets: { subnetType: SubnetType.PRIVATE_ISOLATED },
      securityGroups: [databaseSecurityGroup],
      publiclyAccessible: false,
      credentials: Credentials.fromGeneratedSecret('chat_admin'),
      databaseName: DATABASE_NAME,
      storageEncrypted: true,
      allocatedStorage: 20,
      maxAllocatedStorage: 100,
      multiAz: props.multiAz,
      autoMinorVersionUpgrade: true,
      backupRetention: Duration.days(7),
      deletionProtection: props.protect,
      removalPolicy: props.protect ? RemovalPolicy.SNAPSHOT : RemovalPolicy.DESTROY,
      cloudwatchLogsExports: ['postgresql'],
      cloudwatchLogsRetention: RetentionDays.ONE_MONTH,
      enablePerformanceInsights: false,
    });
    this.secret = this.instance.secret!;
    // Generated like RDS's own (same character set); the role itself is created
    // in PostgreSQL by the migration function, from this secret.
    this.appSecret = new DatabaseSecret(this, 'AppSecret', { username: APP_ROLE, dbname: DATABASE_NAME });

    this.proxy = new DatabaseProxy(this, 'Proxy', {
      proxyTarget: ProxyTarget.fromInstance(this.instance),
      // The proxy logs in as whichever of these a client names.
      secrets: [this.secret, this.appSecret],
      vpc: this.vpc,
      vpcSubnets: { subnetType: SubnetType.PRIVATE_ISOLATED },
      securityGroups: [proxySecurityGroup],
      requireTLS: true,
      iamAuth: false,
      // A Lambda sandbox keeps its one connection while warm; the proxy multiplexes
      // transactions over far fewer database backends.
      idleClientTimeout: Duration.minutes(15),
      borrowTimeout: Duration.seconds(20),
      maxConnectionsPercent: 90,
    });

    this.proxy.connections.allowFrom(this.functionsSecurityGroup, Port.tcp(POSTGRES_PORT), 'functions to the proxy');
    this.instance.connections.allowDefaultPortFrom(proxySecurityGroup, 'proxy to PostgreSQL');
  }
}
